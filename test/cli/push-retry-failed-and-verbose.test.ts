import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { runCli, scratch } from '../helpers/run-cli.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

/** --retry-failed pushes only the sites that failed in a run; --verbose shows each request, masked. */
describe('push --retry-failed and --verbose', () => {
  const sites: FakeSiteServer[] = [];
  const tmp = scratch();
  const sk = makeKey('sk');
  const env = (apiKey: string) => ({ KEYFLEET_DB: tmp.db, TEMPLATE_MASTER_API_KEY: apiKey, STRIPE_SECRET_KEY: sk, STRIPE_PUBLISHABLE_KEY: makeKey('pk') });

  beforeAll(async () => {
    // Two sites accept the master key, one has another key: it fails with invalid_api_key.
    sites.push(await startFakeSite({ apiKey: MASTER_KEY }), await startFakeSite({ apiKey: 'other-key-0123456789abcdefghijklmnopqr' }), await startFakeSite({ apiKey: MASTER_KEY }));
    writeFileSync(tmp.path('sites.txt'), sites.map((s) => s.url).join('\n'));
  });
  afterAll(async () => {
    await Promise.all(sites.map((s) => s.close()));
    tmp.cleanup();
  });

  it('retries exactly the failed site of a run', async () => {
    const first = await runCli(['push', '--sites-file', tmp.path('sites.txt'), '--yes', '--json', '--canary', '0', '--max-failures', '100%'], { env: env(MASTER_KEY) });
    expect(first.code).toBe(1);
    const report = JSON.parse(first.stdout);
    expect(report.sites.filter((s: { status: string }) => s.status === 'failed').map((s: { url: string }) => s.url)).toEqual([sites[1]!.url]);
    expect(first.stdout).toContain('"code":"invalid_api_key"');

    const before = sites.map((s) => s.calls);
    const retry = await runCli(['push', '--sites-file', tmp.path('sites.txt'), '--retry-failed', report.run_id, '--yes', '--json', '--verbose'], {
      env: env('other-key-0123456789abcdefghijklmnopqr'),
    });
    expect(retry.code).toBe(0);
    expect(JSON.parse(retry.stdout).sites.map((s: { url: string }) => s.url)).toEqual([sites[1]!.url]);
    expect(sites[0]!.calls).toBe(before[0]);
    expect(sites[2]!.calls).toBe(before[2]);
    // --verbose: one line per HTTP request on stderr, with method, route and status, never a key.
    expect(retry.stderr).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/api\/health\/stripe #1 → 200 ok/);
    expect(retry.stderr).toMatch(/PUT http:\/\/127\.0\.0\.1:\d+\/api\/export\/settings\/stripe_secret_key #1 → 200 ok/);
    expect(retry.stdout + retry.stderr).not.toContain(sk);
    expect(retry.stdout + retry.stderr).not.toContain('other-key-0123456789');
  });
});
