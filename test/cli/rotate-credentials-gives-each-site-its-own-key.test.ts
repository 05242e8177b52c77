import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingPath } from '../../src/protocol/routes.js';
import { openStateStore } from '../../src/store/open-state-store.js';
import { runCli, scratch } from '../helpers/run-cli.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { makeKey } from '../helpers/keys.js';

/** `keyfleet rotate-credentials` over the registry: each site gets its own key, then the shared key is retired. */
describe('keyfleet rotate-credentials', () => {
  let fleet: Awaited<ReturnType<typeof startTemplateFleet>>;
  const tmp = scratch();
  const vaultKey = randomBytes(32).toString('base64');
  const env = () => ({ KEYFLEET_DB: tmp.db, KEYFLEET_VAULT_KEY: vaultKey, TEMPLATE_MASTER_API_KEY: fleet.apiKey, STRIPE_PUBLISHABLE_KEY: makeKey('pk') });
  const canPush = async (i: number, key: string) =>
    (
      await fleet.sites[i]!.app.inject({
        method: 'PUT',
        url: settingPath('stripe_publishable_key'),
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        payload: JSON.stringify({ value: makeKey('pk') }),
      })
    ).statusCode === 200;

  beforeAll(async () => {
    fleet = await startTemplateFleet(2);
    const state = await openStateStore({ path: tmp.db, vaultKey });
    for (const [i, url] of fleet.urls.entries()) await state.fleet.addSite({ url, name: `site${i}`, tags: ['prod'], apiKey: null, source: 'admin', addedBy: 'test' });
    await state.close();
  });
  afterAll(async () => {
    await fleet.close();
    tmp.cleanup();
  });

  it('refuses without --yes and no terminal, touching nothing', async () => {
    const r = await runCli(['rotate-credentials'], { env: env() });
    expect(r.code).toBe(2);
    expect(await canPush(0, fleet.apiKey)).toBe(true);
  });

  it('rotates every site with no gap and retires the shared key; the new keys never printed', async () => {
    const r = await runCli(['rotate-credentials', '--retire-shared-key', '--yes'], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ROTATE RECAP: ok=2 failed=0');
    const state = await openStateStore({ path: tmp.db, vaultKey });
    try {
      for (const [i, site] of (await state.fleet.listSites()).entries()) {
        const own = await state.fleet.siteApiKey(site.id);
        expect(own).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(await canPush(i, own ?? '')).toBe(true);
        expect(await canPush(i, fleet.apiKey)).toBe(false);
        expect(r.stdout + r.stderr).not.toContain(own);
      }
      expect((await state.fleet.listAudit()).filter((a) => a.action === 'site.rotate_credentials')).toHaveLength(2);
    } finally {
      await state.close();
    }
  });
});
