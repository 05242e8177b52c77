import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultFleet, type FaultFleet } from '../fault-fleet/index.js';
import { runCli, scratch } from '../helpers/run-cli.js';
import { makeKey } from '../helpers/keys.js';

/** The fault fleet through the real CLI: every site gets exactly one code and a fix line. */
describe('push classifies every fault of the fleet', () => {
  let faults: FaultFleet;
  const tmp = scratch();
  const sk = makeKey('sk');
  const expected: Record<string, string> = {
    timeout: 'timeout',
    reset: 'connection_reset',
    refused: 'connection_refused',
    dns: 'dns_not_found',
    tlsSelfSigned: 'tls_error',
    unauthorized: 'invalid_api_key',
    notFoundHtml: 'endpoint_not_found',
    badGatewayHtml: 'bad_gateway',
    alwaysUnavailable: 'service_unavailable',
    gatewayTimeoutHtml: 'gateway_timeout',
    serverErrorHtml: 'server_error',
    notJson: 'unexpected_response',
    html200: 'unexpected_response',
    stale: 'verify_mismatch',
  };

  beforeAll(async () => {
    faults = await startFaultFleet();
  });
  afterAll(async () => {
    await faults.close();
    tmp.cleanup();
  });

  it('one code per failed site, retried sites recover, the secret never printed', async () => {
    const names = [...Object.keys(expected), 'unavailableThenOk', 'rateLimitedThenOk', 'good'] as Array<keyof FaultFleet['urls']>;
    writeFileSync(tmp.path('faults.txt'), names.map((n) => faults.urls[n]).join('\n'));
    const r = await runCli(
      ['push', '--sites-file', tmp.path('faults.txt'), '--yes', '--json', '--timeout', '1', '--retries', '2', '--canary', '0', '--max-failures', '100%'],
      { env: { KEYFLEET_DB: tmp.db, TEMPLATE_MASTER_API_KEY: faults.apiKey, STRIPE_SECRET_KEY: sk, STRIPE_PUBLISHABLE_KEY: makeKey('pk') }, timeoutMs: 90_000 },
    );
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    const byUrl = new Map(report.sites.map((s: { url: string }) => [s.url, s]));
    for (const [name, code] of Object.entries(expected)) {
      const site = byUrl.get(faults.urls[name as keyof FaultFleet['urls']]) as { status: string; error: { code: string; hint: string } };
      expect(site.status, name).toBe('failed');
      expect(site.error.code, name).toBe(code);
      expect(site.error.hint.length, name).toBeGreaterThan(10);
    }
    for (const name of ['unavailableThenOk', 'rateLimitedThenOk', 'good'] as const) {
      const site = byUrl.get(faults.urls[name]) as { status: string; attempts: number };
      expect(site.status, name).toBe('ok');
    }
    expect((byUrl.get(faults.urls.unavailableThenOk) as { attempts: number }).attempts).toBeGreaterThan(4);
    expect(r.stdout + r.stderr).not.toContain(sk);
  });
});
