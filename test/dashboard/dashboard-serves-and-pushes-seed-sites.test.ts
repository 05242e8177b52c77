import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { startSeedSite, type SeedSite } from '../seed-site/seed-site.js';
import { parseSse, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

/**
 * Issue 9, dashboard side: the dashboard pushes a fleet mixing original-template (seed) sites and
 * keyfleet sites through the same pipeline, shows the protocol per site and the restart hint once;
 * as the seed sites' own dashboard it serves the publishable key without a key (KEYFLEET_PUBLIC_PK=1),
 * never a secret, and refuses a seed-shaped self-registration without the registration token.
 */
describe('the dashboard and seed sites', () => {
  let d: TestDashboard;
  let seed: SeedSite;
  let fleet: Awaited<ReturnType<typeof startTemplateFleet>>;
  const pk = makeKey('pk');
  const sk = makeKey('sk');

  beforeAll(async () => {
    seed = await startSeedSite({ masterKey: MASTER_KEY, workers: 2 });
    fleet = await startTemplateFleet(1);
    d = await startTestDashboard({ env: { KEYFLEET_RETRIES: '0', KEYFLEET_PUBLIC_PK: '1', TEMPLATE_MASTER_API_KEY: MASTER_KEY } });
    for (const [name, url] of [['gallery', seed.url], ['modern', fleet.urls[0] as string]] as const) {
      expect((await d.call({ url: DASHBOARD_ROUTES.sites, body: { url, name } })).statusCode).toBe(201);
    }
    expect((await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: pk, secret_key: sk } })).statusCode).toBe(201);
  });
  afterAll(async () => {
    await d.close();
    await seed.close();
    await fleet.close();
  });

  it('pushes both protocols in one run; the seed site is written the seed way and its secret listed unverifiable', async () => {
    const start = await d.call({ url: DASHBOARD_ROUTES.runs, body: { dry_run: false } });
    expect(start.statusCode).toBe(202);
    const runId = start.json().run_id as string;
    const stream = parseSse((await d.call({ url: dashboardPath(DASHBOARD_ROUTES.runEvents, { id: runId }) })).body);
    expect(stream.at(-1)?.data).toMatchObject({ state: 'done', summary: { ok: 2, failed: 0 } });
    const run = (await d.call({ url: dashboardPath(DASHBOARD_ROUTES.run, { id: runId }) })).json();
    const bySite = new Map(run.sites.map((s: { url: string }) => [s.url, s]));
    expect(bySite.get(seed.url)).toMatchObject({ status: 'ok', protocol: 'seed', unverifiable: [expect.objectContaining({ setting: 'stripe_secret_key' })] });
    expect(bySite.get(fleet.urls[0])).toMatchObject({ status: 'ok', protocol: 'keyfleet', verified: true });
    expect(run.notes).toHaveLength(1);
    expect(run.notes[0]).toMatch(/restart/);
    expect(seed.settings.get('stripe_secret_key')).toBe(sk);
    expect(seed.settings.get('stripe_publishable_key')).toBe(pk);
    expect(seed.settings.has('export_api_key')).toBe(false);
    expect(await d.everything()).not.toContain(sk);
  });

  it('the verify sweep finds the seed site in sync: its unknown secret is neither as desired nor drift', async () => {
    seed.expireCaches(); // the workers' five minutes have passed
    const status = (await d.call({ url: DASHBOARD_ROUTES.verify, body: { wait: true } })).json();
    expect(status).toMatchObject({ last_checked: 2, last_drifted: 0 });
    const sites = (await d.call({ url: DASHBOARD_ROUTES.sites })).json().sites as Array<{ url: string; health: { problem: string | null; pk_as_desired: boolean | null; sk_as_desired: boolean | null } }>;
    expect(sites.find((s) => s.url === seed.url)?.health).toMatchObject({ problem: null, pk_as_desired: true, sk_as_desired: null });
  });

  it('the dashboard\'s doctor passes the healthy seed site', async () => {
    const id = ((await d.call({ url: DASHBOARD_ROUTES.sites })).json().sites as Array<{ id: string; url: string }>).find((s) => s.url === seed.url)?.id as string;
    const res = await d.call({ method: 'POST', url: dashboardPath(DASHBOARD_ROUTES.siteDoctor, { id }), body: {} });
    expect(res.statusCode).toBe(200);
    const report = res.json();
    expect(report.diagnosis ?? report.site?.diagnosis ?? null).toBeNull();
    expect(JSON.stringify(report)).toContain('seed template');
  });

  it('KEYFLEET_PUBLIC_PK=1: the publishable key without a key, as the seed site asks for it', async () => {
    const res = await d.call({ url: dashboardPath(DASHBOARD_ROUTES.siteStripeKey, { site: 'gallery' }), auth: 'none' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true, publishable_key: pk });
    // A wrong key is still refused; an unknown site looks like one with no key.
    expect((await d.call({ url: dashboardPath(DASHBOARD_ROUTES.siteStripeKey, { site: 'gallery' }), auth: 'none', headers: { 'x-api-key': 'wrong-key' } })).statusCode).toBe(401);
    expect((await d.call({ url: dashboardPath(DASHBOARD_ROUTES.siteStripeKey, { site: 'nowhere' }), auth: 'none' })).json()).toMatchObject({ error: 'no_publishable_key' });
    // The seed site, with no local key, asks this dashboard and serves the answer.
    const asking = await startSeedSite({ masterKey: MASTER_KEY, dashboardUrl: await listening(d), siteName: 'gallery' });
    try {
      expect(await (await fetch(`${asking.url}/api/stripe-pk`)).json()).toEqual({ publishable_key: pk, success: true });
    } finally {
      await asking.close();
    }
  });

  it('never serves a secret to a site that asks for one', async () => {
    const res = await d.call({ url: '/api/export/settings/stripe_secret_key', auth: 'none' });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain(sk);
  });

  it('refuses a seed-shaped self-registration without the registration token', async () => {
    const body = { site_name: 'intruder', site_url: 'http://127.0.0.1:9/', api_key: 'x'.repeat(40), auto_registered: true, artist_id: 7 };
    const res = await d.call({ url: DASHBOARD_ROUTES.register, body, auth: 'none' });
    expect(res.statusCode).toBe(401);
    const sites = (await d.call({ url: DASHBOARD_ROUTES.sites })).json().sites as Array<{ name: string }>;
    expect(sites.map((s) => s.name)).not.toContain('intruder');
  });
});

/** The dashboard on a real loopback port, for a seed site's own request to it. */
async function listening(d: TestDashboard): Promise<string> {
  const app = d.app;
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address() as { port: number };
  return `http://127.0.0.1:${addr.port}`;
}

describe('KEYFLEET_PUBLIC_PK=1 and a site waiting for approval', () => {
  it('answers it publicly like any site without a key (a stranger learns nothing), with a key 409 site_pending', async () => {
    const token = 'reg-token-' + 'r'.repeat(32);
    const d = await startTestDashboard({ env: { KEYFLEET_PUBLIC_PK: '1', KEYFLEET_REGISTRATION_TOKEN: token } });
    try {
      const pk = makeKey('pk');
      await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: pk, secret_key: makeKey('sk') } });
      const siteKey = 'site-key-' + 'k'.repeat(32);
      const reg = await d.call({
        url: DASHBOARD_ROUTES.register,
        body: { site_url: 'https://93.184.216.34/', site_name: 'joined', api_key: siteKey },
        headers: { authorization: `Bearer ${token}` },
        auth: 'none',
      });
      expect(reg.statusCode, reg.body).toBe(202);
      const url = dashboardPath(DASHBOARD_ROUTES.siteStripeKey, { site: 'joined' });
      const open = await d.call({ url, auth: 'none' });
      expect(open.json()).toMatchObject({ error: 'no_publishable_key' });
      const keyed = await d.call({ url, auth: 'none', headers: { 'x-api-key': siteKey } });
      expect(keyed.json()).toMatchObject({ error: 'site_pending' });
      expect(open.body + keyed.body).not.toContain(pk);
    } finally {
      await d.close();
    }
  });
});
