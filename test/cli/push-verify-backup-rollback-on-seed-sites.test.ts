import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { runCli, scratch } from '../helpers/run-cli.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { startSeedSite, type SeedSite } from '../seed-site/seed-site.js';

/**
 * Issue 9, done-when: on a fleet mixing original-template (seed) sites and keyfleet template sites,
 * push, verify (--wait), backup and rollback work with the right proof per protocol; a wrong key
 * writes and creates nothing on a seed site; no secret is ever printed.
 */
describe('push, verify, backup and rollback on a fleet of seed and keyfleet sites', () => {
  const tmp = scratch();
  const seeds: SeedSite[] = [];
  let fleet: Awaited<ReturnType<typeof startTemplateFleet>>;
  const oldPk = makeKey('pk');
  const sk = makeKey('sk');
  const pk = makeKey('pk');
  const outputs: string[] = [];
  const env = (extra: Record<string, string> = {}) => ({ KEYFLEET_DB: tmp.db, TEMPLATE_MASTER_API_KEY: MASTER_KEY, STRIPE_SECRET_KEY: sk, STRIPE_PUBLISHABLE_KEY: pk, ...extra });
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    const r = await runCli(args, { env: env(extra), cwd: tmp.dir });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const seedPk = (s: SeedSite) => s.settings.get('stripe_publishable_key');
  /** Every worker caches the current value (as a live site's traffic would). */
  const warm = async (s: SeedSite) => {
    for (let i = 0; i < 3; i++) await fetch(`${s.url}/api/stripe-pk`);
  };

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) seeds.push(await startSeedSite({ masterKey: MASTER_KEY, workers: 3, cacheTtlMs: 600_000, settings: { stripe_publishable_key: oldPk } }));
    fleet = await startTemplateFleet(2);
    writeFileSync(tmp.path('sites.txt'), [...seeds.map((s) => s.url), ...fleet.urls].join('\n'));
    writeFileSync(tmp.path('seeds.txt'), seeds.map((s) => s.url).join('\n'));
  });
  afterAll(async () => {
    await Promise.all(seeds.map((s) => s.close()));
    await fleet.close();
    tmp.cleanup();
  });

  it('a wrong master key against seed sites halts at the canary: nothing written, no credential created, no PUT sent', async () => {
    const r = await cli(['push', '--sites-file', tmp.path('sites.txt'), '--yes', '--json'], { TEMPLATE_MASTER_API_KEY: 'not-the-master-key-at-all-0123456789' });
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.sites[0]).toMatchObject({ status: 'failed', protocol: 'seed', error: { code: 'invalid_api_key' } });
    for (const s of seeds) {
      expect(s.settings.has('export_api_key')).toBe(false);
      expect(s.requests.filter((q) => q.method === 'PUT')).toEqual([]);
      expect(seedPk(s)).toBe(oldPk);
    }
    expect(await fleet.pkOf(0)).toBeNull();
  });

  it('backup records the seed sites\' public values and says their secrets are unknown', async () => {
    const r = await cli(['backup', '--sites-file', tmp.path('sites.txt'), '-o', tmp.path('backup.json'), '--json']);
    expect(r.code).toBe(0);
    const file = JSON.parse(readFileSync(tmp.path('backup.json'), 'utf8'));
    expect(file.sites[seeds[0]!.url]).toMatchObject({ publishable_key: oldPk, price_id: null, protocol: 'seed', unknown: ['stripe_secret_key', 'stripe_webhook_secret'], secrets: {} });
    expect(file.sites[fleet.urls[0]!]).toMatchObject({ publishable_key: null });
  });

  it('a dry run with a restricted key marks seed sites restricted_key_unsupported, before sending anything', async () => {
    const puts = seeds[0]!.requests.filter((q) => q.method === 'PUT').length;
    const r = await cli(['push', '--sites-file', tmp.path('sites.txt'), '--dry-run', '--json'], { STRIPE_SECRET_KEY: makeKey('rk') });
    const report = JSON.parse(r.stdout);
    expect(r.stderr).toContain('restricted key');
    expect(report.sites.slice(0, 2).map((s: { error: { code: string } }) => s.error?.code)).toEqual(['restricted_key_unsupported', 'restricted_key_unsupported']);
    expect(report.sites[2]).toMatchObject({ status: 'ok', protocol: 'keyfleet' });
    expect(seeds[0]!.requests.filter((q) => q.method === 'PUT').length).toBe(puts);
  });

  it('pushes every site with the proof its protocol allows; seed secrets are written, never verified', async () => {
    for (const s of seeds) await warm(s);
    const r = await cli(['push', '--sites-file', tmp.path('sites.txt'), '--yes', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.summary).toMatchObject({ total: 4, ok: 4, failed: 0 });
    for (const site of report.sites.slice(0, 2)) {
      expect(site).toMatchObject({ status: 'ok', protocol: 'seed', changes: ['stripe_secret_key', 'stripe_publishable_key'] });
      expect(site.unverifiable).toEqual([expect.objectContaining({ setting: 'stripe_secret_key' })]);
      // Warmed workers still serve the old key: ok, but not yet verified, and it says why.
      expect(site.verified).toBe(false);
      expect(site.pending_proof).toMatch(/cache/);
    }
    for (const site of report.sites.slice(2)) expect(site).toMatchObject({ status: 'ok', protocol: 'keyfleet', verified: true });
    for (const s of seeds) {
      expect(seedPk(s)).toBe(pk);
      expect(s.settings.get('stripe_secret_key')).toBe(sk);
      // Written the seed's way: the key proven first, the secret before the publishable key.
      const order = s.requests.filter((q) => q.method === 'PUT' || q.path === '/api/export/stats').map((q) => q.path);
      expect(order.slice(-3)).toEqual(['/api/export/stats', '/api/export/settings/stripe_secret_key', '/api/export/settings/stripe_publishable_key']);
    }
    expect((await fleet.keysOf(0)).stripe_secret_key.fingerprint).toBe(fingerprint(sk));
    const human = await cli(['history']);
    expect(human.code).toBe(0);
  });

  it('verify --wait reaches verified once every worker serves the new key', async () => {
    for (const s of seeds) s.expireCachesIn(1500);
    const r = await cli(['verify', '--sites-file', tmp.path('seeds.txt'), '--wait', '30', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    for (const site of report.sites) {
      expect(site).toMatchObject({ status: 'ok', verified: true, protocol: 'seed' });
      expect(site.pending_proof).toBeUndefined();
      expect(site.unverifiable).toEqual([expect.objectContaining({ setting: 'stripe_secret_key' })]);
    }
  });

  it('rollback --from the backup restores the seed sites\' publishable key; their secret cannot be, and says so', async () => {
    const r = await cli(['rollback', '--from', tmp.path('backup.json'), '--sites-file', tmp.path('seeds.txt'), '--yes', '--json']);
    const report = JSON.parse(r.stdout);
    for (const s of seeds) expect(seedPk(s)).toBe(oldPk);
    for (const site of report.sites) expect(site).toMatchObject({ status: 'failed', error: { code: 'seed_secret_not_restorable' } });
    expect(r.code).toBe(1);
  });

  it('rollback --run puts back the seed sites\' public values and the secret keyfleet pushed before', async () => {
    // A second push (new secret) over the first: its rollback restores the first push's secret from the vault.
    const sk2 = makeKey('sk');
    const pk2 = makeKey('pk');
    // The caches' five minutes have passed since the rollback above: every worker serves what it wrote.
    for (const s of seeds) s.expireCaches();
    const pushed = await cli(['push', '--sites-file', tmp.path('seeds.txt'), '--yes', '--json'], { STRIPE_SECRET_KEY: sk2, STRIPE_PUBLISHABLE_KEY: pk2 });
    expect(pushed.code).toBe(0);
    const runId = JSON.parse(pushed.stdout).run_id;
    for (const s of seeds) expect(s.settings.get('stripe_secret_key')).toBe(sk2);
    const r = await cli(['rollback', '--run', runId, '--yes', '--json']);
    expect(r.code).toBe(0);
    for (const s of seeds) {
      expect(seedPk(s)).toBe(oldPk);
      expect(s.settings.get('stripe_secret_key')).toBe(sk);
    }
  });

  it('validate warns that seed sites refuse a restricted key, before any push', async () => {
    const r = await cli(['validate'], { STRIPE_SECRET_KEY: makeKey('rk') });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/restricted key.*original template.*restricted_key_unsupported/);
  });

  it('never printed a secret', () => {
    const all = outputs.join('\n');
    expect(all).not.toContain(sk);
    expect(all).not.toContain(MASTER_KEY);
  });
});
