import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultFleet, type FakeSiteServer, type FaultFleet } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { check, cleanupScratch, leaked, runDoctor, scratchPath, type SiteJson } from './doctor-fixtures.js';

type Site = keyof FaultFleet['urls'];

/**
 * The push issue's fault fleet through `keyfleet doctor --sites-file`: every misbehaving site gets
 * one diagnosis — the code push gives the same failure, or the doctor's finer one (an expired
 * certificate, a redirect) — from the check where it first shows, and the fleet table counts them.
 */
describe('doctor names every fault of the fleet', () => {
  let fleet: FaultFleet;
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const expected: Partial<Record<Site, [check: string, code: string]>> = {
    dns: ['dns', 'dns_not_found'],
    refused: ['tcp', 'connection_refused'],
    tlsSelfSigned: ['tls', 'tls_error'],
    tlsExpired: ['tls', 'certificate_expired'],
    timeout: ['http', 'timeout'],
    reset: ['http', 'connection_reset'],
    hangup: ['http', 'connection_reset'],
    badGatewayHtml: ['http', 'bad_gateway'],
    alwaysUnavailable: ['http', 'service_unavailable'],
    gatewayTimeoutHtml: ['http', 'gateway_timeout'],
    serverErrorHtml: ['http', 'server_error'],
    redirect: ['http', 'site_redirects'],
    unauthorized: ['health', 'invalid_api_key'],
    badSecret: ['health', 'invalid_secret_format'],
    leaky: ['health', 'invalid_secret_format'],
    notFoundHtml: ['health', 'endpoint_not_found'],
    notJson: ['health', 'unexpected_response'],
    html200: ['health', 'unexpected_response'],
    good: ['stripe-pk', 'no_publishable_key'],
    tlsValid: ['stripe-pk', 'no_publishable_key'],
    stale: ['stripe-health', 'verify_mismatch'],
  };
  const names = [...Object.keys(expected), 'unavailableThenOk', 'rateLimitedThenOk'] as Site[];
  const sitesFile = scratchPath('faults.txt');
  const caFile = scratchPath('fleet-ca.pem');
  let env: Record<string, string>;
  let json: { code: number | null; reports: SiteJson[]; printed: string };
  const args = () => ['--sites-file', sitesFile, '--ca-file', caFile, '--timeout', '1', '--retries', '1'];

  beforeAll(async () => {
    fleet = await startFaultFleet();
    // The stale site held keys before; a push "succeeded" but it kept them.
    (fleet.server('stale') as FakeSiteServer).state.settings.set('stripe_secret_key', makeKey('sk'));
    writeFileSync(sitesFile, names.map((n) => fleet.urls[n]).join('\n'));
    writeFileSync(caFile, fleet.ca);
    env = { TEMPLATE_MASTER_API_KEY: fleet.apiKey, STRIPE_PUBLISHABLE_KEY: pk, STRIPE_SECRET_KEY: sk };
    // One run for the JSON assertions: the "…ThenOk" servers fail only their very first request.
    const r = await runDoctor([...args(), '--json'], env);
    json = { code: r.code, reports: JSON.parse(r.stdout) as SiteJson[], printed: r.stdout + r.stderr };
  });
  afterAll(async () => {
    await fleet.close();
    cleanupScratch();
  });

  it('gives each site the diagnosis of the first check that fails, with a fix and a curl command', async () => {
    expect(json.code).toBe(1);
    const reports = json.reports;
    expect(reports.map((s) => s.url)).toEqual(names.map((n) => fleet.urls[n]));
    const byUrl = new Map(reports.map((s) => [s.url, s]));
    for (const [name, [failed, code]] of Object.entries(expected)) {
      const site = byUrl.get(fleet.urls[name as Site]) as SiteJson;
      expect(site.diagnosis?.code, `${name}: ${JSON.stringify(site.checks)}`).toBe(code);
      expect(check(site, failed).status, name).toBe('fail');
      const firstFail = site.checks.find((c) => c.status === 'fail');
      expect(firstFail?.name, name).toBe(failed);
      expect(site.diagnosis?.hint.length, name).toBeGreaterThan(20);
      expect(site.diagnosis?.reproduce, name).toMatch(/^curl -sS /);
    }
    expect(check(byUrl.get(fleet.urls.tlsValid) as SiteJson, 'tls').status).toBe('pass');
    // The unauthorized site sees the key in the authenticated call: written as a variable, never a value.
    const unauthorized = byUrl.get(fleet.urls.unauthorized) as SiteJson;
    expect(check(unauthorized, 'stripe-health')).toMatchObject({ status: 'fail' });
    expect(json.printed).not.toContain(fleet.apiKey);
    expect(json.printed).not.toContain(sk);
  });

  it('sees a site that answers only after a retry, and says which failure was retried', () => {
    for (const [name, code] of [
      ['unavailableThenOk', 'service_unavailable'],
      ['rateLimitedThenOk', 'too_many_attempts'],
    ] as const) {
      const site = json.reports.find((s) => s.url === fleet.urls[name]) as SiteJson;
      expect(check(site, 'http').detail, name).toContain('after 2 attempts');
      expect(check(site, 'health').status, name).toBe('pass');
      expect(check(site, 'latency').status, name).toBe('warn');
      expect(check(site, 'latency').detail, name).toContain(`needed retries: GET / (${code})`);
    }
  });

  it('prints the fleet table: site, verdict, diagnosis, latency, and the count per diagnosis', async () => {
    const r = await runDoctor(args(), env);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^SITE +VERDICT +DIAGNOSIS +LATENCY$/);
    const row = (name: Site) => lines.find((l) => l.startsWith(`${fleet.urls[name]} `)) ?? '';
    expect(row('tlsExpired')).toMatch(/ fail +certificate_expired +- *$/);
    expect(row('timeout')).toMatch(/ fail +timeout +- *$/);
    expect(row('notJson')).toMatch(/ fail +unexpected_response +\d+ ms$/);
    expect(r.stdout).toContain(`${names.length} sites:  pass=0`);
    expect(r.stdout).toMatch(/connection_reset +2 {2}fix: The app server or a proxy dropped the connection/);
    expect(r.stdout).toMatch(/unexpected_response +2 {2}fix: /);
    expect(r.stdout).toMatch(/no_publishable_key +4 {2}fix: Push one/);
    expect(leaked(r, [fleet.apiKey, sk])).toEqual([]);
  });
});
