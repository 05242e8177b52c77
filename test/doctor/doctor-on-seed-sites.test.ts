import { afterAll, describe, expect, it } from 'vitest';
import { MASTER_KEY } from '../helpers/keys.js';
import { startSeedSite, type SeedSite } from '../seed-site/seed-site.js';
import { check, cleanupScratch, runDoctor, type SiteJson } from './doctor-fixtures.js';

/**
 * Issue 9: the doctor on sites of the original template. A healthy one passes (its missing health
 * routes cost proof, they are not failures); an exposed export_api_key is `settings_exposed`; workers
 * serving different keys is `stale_cache`; a refused key is the diagnosis whatever else failed.
 */
describe('keyfleet doctor on seed sites', () => {
  const sites: SeedSite[] = [];
  const start = async (o: Partial<Parameters<typeof startSeedSite>[0]> = {}) => {
    const s = await startSeedSite({ masterKey: MASTER_KEY, settings: { stripe_publishable_key: 'pk_test_seedDoctor123' }, ...o });
    sites.push(s);
    return s;
  };
  const doctor = async (url: string, env: Record<string, string> = { TEMPLATE_MASTER_API_KEY: MASTER_KEY }) => {
    const r = await runDoctor([url, '--json'], env);
    return { r, site: JSON.parse(r.stdout) as SiteJson };
  };
  afterAll(async () => {
    await Promise.all(sites.map((s) => s.close()));
    cleanupScratch();
  });

  it('passes a healthy seed site, saying what the original template cannot prove', async () => {
    const s = await start();
    const { r, site } = await doctor(s.url);
    expect(r.code).toBe(0);
    expect(site.checks.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    expect(site.diagnosis).toBeNull();
    expect(check(site, 'health').detail).toMatch(/^seed template:/);
    expect(check(site, 'stripe-health').detail).toMatch(/seed template: key accepted.*no fingerprint proof/);
    expect(s.settings.has('export_api_key')).toBe(false);
  });

  it('fails a site whose public settings expose export_api_key: settings_exposed, value never shown', async () => {
    const s = await start({ settings: { stripe_publishable_key: 'pk_test_seedDoctor123', export_api_key: 'leakedcredential0123456789abcdef' } });
    const { r, site } = await doctor(s.url);
    expect(r.code).toBe(1);
    expect(site.diagnosis?.code).toBe('settings_exposed');
    expect(site.diagnosis?.reproduce).toContain('/api/export/settings');
    expect(r.stdout + r.stderr).not.toContain('leakedcredential0123456789abcdef');
  });

  it('warns stale_cache when workers serve different publishable keys', async () => {
    const s = await start({ workers: 3 });
    for (let i = 0; i < 3; i++) await fetch(`${s.url}/api/stripe-pk`); // every worker caches the old key
    // A write clears only the cache of the worker that handled it: the two others keep the old key.
    const put = await fetch(`${s.url}/api/export/settings/stripe_publishable_key`, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-api-key': MASTER_KEY }, body: '{"value":"pk_test_changedSince456"}' });
    expect(put.status).toBe(200);
    const { r, site } = await doctor(s.url);
    expect(check(site, 'stripe-health')).toMatchObject({ status: 'warn' });
    expect(site.diagnosis?.code).toBe('stale_cache');
    expect(r.code).toBe(0);
  });

  it('--protocol keyfleet does not take a missing /api/health for the original template', async () => {
    const s = await start();
    const r = await runDoctor([s.url, '--json', '--protocol', 'keyfleet'], { TEMPLATE_MASTER_API_KEY: MASTER_KEY });
    expect(r.code).toBe(1);
    expect(check(JSON.parse(r.stdout) as SiteJson, 'health')).toMatchObject({ status: 'fail' });
    expect((await runDoctor([s.url, '--protocol', 'flask'])).code).toBe(2);
  });

  it('a refused key is the diagnosis, and nothing is created on the site', async () => {
    const s = await start();
    const { r, site } = await doctor(s.url, { TEMPLATE_MASTER_API_KEY: 'wrong-key-0123456789abcdefghijklmnop' });
    expect(r.code).toBe(1);
    expect(site.diagnosis?.code).toBe('invalid_api_key');
    expect(site.diagnosis?.reproduce).toContain('$TEMPLATE_MASTER_API_KEY');
    expect(s.settings.has('export_api_key')).toBe(false);
  });
});
