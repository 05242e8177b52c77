import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { ROUTES } from '../../src/protocol/routes.js';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { runCli, scratch } from '../helpers/run-cli.js';

/**
 * Issue 10, push side: on sites whose authenticated view lists `atomic_write`, a changed site costs two
 * requests (preflight, one atomic PUT whose answer is the proof), an unchanged one a single request;
 * `--read-back` adds the separate read; other sites keep the per-setting path; a dry run writes nothing.
 */
describe('push writes a key pair atomically where the site offers it', () => {
  const tmp = scratch();
  const atomic: FakeSiteServer[] = [];
  let perSetting: FakeSiteServer;
  const sk = makeKey('sk');
  const pk = makeKey('pk');
  const outputs: string[] = [];
  const push = async (...more: string[]) => {
    const r = await runCli(['push', '--sites-file', tmp.path('sites.txt'), '--json', ...more], { env: { KEYFLEET_DB: tmp.db, TEMPLATE_MASTER_API_KEY: MASTER_KEY, STRIPE_SECRET_KEY: sk, STRIPE_PUBLISHABLE_KEY: pk } });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const counts = () => [...atomic, perSetting].map((s) => s.requests.length);

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) atomic.push(await startFakeSite({ apiKey: MASTER_KEY, atomic: true }));
    perSetting = await startFakeSite({ apiKey: MASTER_KEY });
    writeFileSync(tmp.path('sites.txt'), [...atomic, perSetting].map((s) => s.url).join('\n'));
  });
  afterAll(async () => {
    await Promise.all([...atomic, perSetting].map((s) => s.close()));
    tmp.cleanup();
  });

  it('a dry run preflights once per site and writes nothing', async () => {
    const r = await push('--dry-run');
    expect(r.code).toBe(0);
    expect(counts()).toEqual([1, 1, 1]);
    expect(atomic[0]!.state.settings.size).toBe(0);
  });

  it('two requests per changed atomic-capable site, the per-setting path elsewhere', async () => {
    const before = counts();
    const r = await push('--yes');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.summary).toMatchObject({ ok: 3, failed: 0 });
    const made = counts().map((n, i) => n - (before[i] ?? 0));
    expect(made).toEqual([2, 2, 4]);
    for (const s of atomic) {
      expect(s.requests.slice(-2).map((q) => `${q.method} ${q.url}`)).toEqual([`GET ${ROUTES.healthStripe}`, `PUT ${ROUTES.settings}`]);
      expect(JSON.parse(s.requests.at(-1)!.body)).toEqual({ values: { stripe_secret_key: sk, stripe_publishable_key: pk } });
      expect(s.state.settings.get('stripe_publishable_key')).toBe(pk);
      expect(fingerprint(s.state.settings.get('stripe_secret_key')!)).toBe(fingerprint(sk));
    }
    for (const site of report.sites) expect(site).toMatchObject({ status: 'ok', verified: true });
    expect(report.sites[0].attempts).toBe(2);
  });

  it('one request per unchanged site', async () => {
    const before = counts();
    const r = await push('--yes');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).summary).toMatchObject({ unchanged: 3 });
    expect(counts().map((n, i) => n - (before[i] ?? 0))).toEqual([1, 1, 1]);
  });

  it('--read-back adds the separate read after the atomic write', async () => {
    for (const s of atomic) s.state.settings.clear();
    const before = counts();
    const r = await push('--yes', '--read-back');
    expect(r.code).toBe(0);
    expect(counts().map((n, i) => n - (before[i] ?? 0)).slice(0, 2)).toEqual([3, 3]);
    expect(atomic[0]!.requests.at(-1)!.url).toBe(ROUTES.healthStripe);
  });

  it('never printed a secret', () => {
    expect(outputs.join('\n')).not.toContain(sk);
    expect(outputs.join('\n')).not.toContain(MASTER_KEY);
  });
});
