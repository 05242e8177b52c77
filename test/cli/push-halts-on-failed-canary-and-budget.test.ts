import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultFleet, type FaultFleet } from '../fault-fleet/index.js';
import { runCli, scratch } from '../helpers/run-cli.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

/** Canary and --max-failures: a bad start or too many failures stop the run (exit 3); sites not yet started are skipped, unwritten. */
describe('push halts on a failed canary and on a crossed failure budget', () => {
  let good: Awaited<ReturnType<typeof startTemplateFleet>>;
  let faults: FaultFleet;
  const tmp = scratch();
  const env = { TEMPLATE_MASTER_API_KEY: MASTER_KEY, STRIPE_SECRET_KEY: makeKey('sk'), STRIPE_PUBLISHABLE_KEY: makeKey('pk') };
  const push = (file: string, ...more: string[]) =>
    runCli(['push', '--sites-file', tmp.path(file), '--yes', '--json', '--timeout', '2', '--retries', '0', ...more], { env: { ...env, KEYFLEET_DB: tmp.db } });

  beforeAll(async () => {
    good = await startTemplateFleet(4);
    faults = await startFaultFleet({ apiKey: MASTER_KEY });
  });
  afterAll(async () => {
    await good.close();
    await faults.close();
    tmp.cleanup();
  });

  it('a canary that fails after preflight halts the run; no other site is written', async () => {
    // The stale site passes preflight, accepts the PUTs, then fails verification.
    writeFileSync(tmp.path('canary.txt'), [faults.urls.stale, ...good.urls].join('\n'));
    const r = await push('canary.txt', '--max-failures', '100%');
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.state).toBe('halted');
    expect(report.sites[0]).toMatchObject({ status: 'failed', error: { code: 'verify_mismatch' } });
    expect(report.summary).toMatchObject({ failed: 1, skipped: 4, ok: 0 });
    for (let i = 0; i < 4; i++) expect(await good.pkOf(i)).toBeNull();
    expect(r.stderr).toContain('canary');
  });

  it('--preflight-all: failures past --max-failures during the fleet-wide preflight halt before any write', async () => {
    writeFileSync(tmp.path('budget.txt'), [...good.urls, faults.urls.unauthorized, faults.urls.refused, faults.urls.notFoundHtml].join('\n'));
    const r = await push('budget.txt', '--max-failures', '2', '--preflight-all');
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.summary).toMatchObject({ failed: 3, skipped: 4, ok: 0 });
    for (let i = 0; i < 4; i++) expect(await good.pkOf(i)).toBeNull();
  });

  it('site by site (the default): crossing --max-failures stops new sites; the rest are skipped, unwritten', async () => {
    // Unreachable sites first: none of them can be the canary, each counts against the budget.
    writeFileSync(tmp.path('bad-first.txt'), [faults.urls.refused, faults.urls.reset, faults.urls.badGatewayHtml, ...good.urls].join('\n'));
    const r = await push('bad-first.txt', '--max-failures', '2');
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.state).toBe('halted');
    expect(report.summary).toMatchObject({ total: 7, failed: 3, skipped: 4, ok: 0 });
    expect(report.sites.slice(0, 3).map((s: { error: { code: string } }) => s.error.code)).toEqual(['connection_refused', 'connection_reset', 'bad_gateway']);
    for (let i = 0; i < 4; i++) expect(await good.pkOf(i)).toBeNull();
  });

  // Issue 11: a canary refused for a reason that can be fleet-wide halts; only an unreachable one is stepped over.
  for (const [fault, code] of [['unauthorized', 'invalid_api_key'], ['notFoundHtml', 'endpoint_not_found']] as const) {
    it(`a canary whose preflight is refused (${code}) halts with exit 3 before any other site is written`, async () => {
      writeFileSync(tmp.path(`refused-${fault}.txt`), [faults.urls.refused, faults.urls[fault], ...good.urls].join('\n'));
      const r = await push(`refused-${fault}.txt`, '--max-failures', '100%');
      expect(r.code).toBe(3);
      const report = JSON.parse(r.stdout);
      expect(report.state).toBe('halted');
      expect(report.sites.slice(0, 2).map((s: { error: { code: string } }) => s.error.code)).toEqual(['connection_refused', code]);
      expect(report.summary).toMatchObject({ total: 6, failed: 2, skipped: 4, ok: 0 });
      for (let i = 0; i < 4; i++) expect(await good.pkOf(i)).toBeNull();
    });
  }

  it('--preflight-all: a canary candidate refusing the key halts before any write', async () => {
    writeFileSync(tmp.path('refused-all.txt'), [faults.urls.unauthorized, ...good.urls].join('\n'));
    const r = await push('refused-all.txt', '--max-failures', '100%', '--preflight-all');
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.sites[0]).toMatchObject({ status: 'failed', error: { code: 'invalid_api_key' } });
    expect(report.summary).toMatchObject({ failed: 1, skipped: 4, ok: 0 });
    for (let i = 0; i < 4; i++) expect(await good.pkOf(i)).toBeNull();
  });

  it('within the budget the good sites are pushed and the run exits 1', async () => {
    const r = await push('budget.txt', '--max-failures', '50%');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.summary).toMatchObject({ total: 7, ok: 4, failed: 3 });
    for (let i = 0; i < 4; i++) expect(await good.pkOf(i)).toBe(env.STRIPE_PUBLISHABLE_KEY);
  });

  it('a test/live mix is refused locally (exit 2), nothing sent', async () => {
    writeFileSync(tmp.path('one.txt'), faults.urls.good);
    const before = faults.server('good').requests.length;
    const r = await runCli(['push', '--sites-file', tmp.path('one.txt'), '--yes'], { env: { ...env, STRIPE_PUBLISHABLE_KEY: makeKey('pk', 'live'), KEYFLEET_DB: tmp.db } });
    expect(r.code).toBe(2);
    expect(faults.server('good').requests.length).toBe(before);
  });
});
