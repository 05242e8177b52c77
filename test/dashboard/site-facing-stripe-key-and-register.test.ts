import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { ROUTES } from '../../src/protocol/routes.js';
import { makeKey } from '../helpers/keys.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { REGISTRATION_TOKEN, parseSse, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

const SITE_KEY = `site-own-${randomBytes(20).toString('hex')}`;
/** The dashboard's shared key: no template site here accepts it, so a push can only use the site's own key. */
const DASHBOARD_MASTER = `dash-master-${randomBytes(20).toString('hex')}`;

describe('the routes template sites call', () => {
  let site: TestSite;
  let siteUrl: string;
  let d: TestDashboard;
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  let siteId = '';

  const register = (body: unknown, token: string | null = REGISTRATION_TOKEN, from?: string) =>
    d.call({
      url: DASHBOARD_ROUTES.register,
      body,
      auth: 'none',
      from,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
  const stripeKey = (ref: string, key?: string) =>
    d.call({
      url: dashboardPath(DASHBOARD_ROUTES.siteStripeKey, { site: ref }),
      auth: 'none',
      headers: key === undefined ? {} : { 'x-api-key': key },
    });

  beforeAll(async () => {
    site = await startTestSite({ config: { masterKeys: [SITE_KEY] } });
    await site.app.listen({ port: 0, host: '127.0.0.1' });
    siteUrl = `http://127.0.0.1:${(site.app.server.address() as AddressInfo).port}`;
    d = await startTestDashboard({
      // Loopback may register only when listed (issue 12); a listed host is approved at once.
      env: {
        TEMPLATE_MASTER_API_KEY: DASHBOARD_MASTER,
        KEYFLEET_RETRIES: '0',
        KEYFLEET_REGISTRATION_ALLOWED_HOSTS: '127.0.0.1',
      },
    });
  });
  afterAll(async () => {
    await d.close();
    await site.close();
  });

  it('refuses to register with a wrong or missing token, before reading the body', async () => {
    expect((await register({ site_url: siteUrl, api_key: SITE_KEY }, 'x'.repeat(40))).json()).toMatchObject({
      success: false,
      error: 'invalid_registration_token',
    });
    expect((await register({}, null)).statusCode).toBe(401);
    expect((await d.call({ url: DASHBOARD_ROUTES.sites })).json().sites).toEqual([]);
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push((await register({}, 'y'.repeat(40), '127.0.0.9')).statusCode);
    expect(codes.slice(0, 10).every((c) => c === 401)).toBe(true);
    expect(codes.slice(10)).toEqual([429, 429]);
  });

  it('registers a site with no keys desired yet without starting a run', async () => {
    const res = await register({ site_url: siteUrl, site_name: 'shop', api_key: SITE_KEY });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ success: true, run_id: null });
    siteId = res.json().site_id;
    const listed = (await d.call({ url: DASHBOARD_ROUTES.sites })).json().sites;
    expect(listed).toMatchObject([
      { id: siteId, name: 'shop', url: siteUrl, source: 'register', has_api_key: true },
    ]);
    expect(JSON.stringify(listed)).not.toContain(SITE_KEY);
  });

  it('brings a registering site to the desired keys at once, with its own key, visible in the run history', async () => {
    await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: pk, secret_key: sk } });
    const res = await register({ site_url: siteUrl, site_name: 'shop', api_key: SITE_KEY, current_api_key: SITE_KEY });
    expect(res.statusCode).toBe(200); // registered before: its key is updated, the site is the same
    expect(res.json().site_id).toBe(siteId);
    const runId = res.json().run_id as string;
    const end = parseSse(
      (await d.call({ url: dashboardPath(DASHBOARD_ROUTES.runEvents, { id: runId }) })).body,
    ).at(-1);
    expect(end?.data).toMatchObject({ state: 'done', summary: { total: 1, ok: 1 } });
    const keys = (
      await site.app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': SITE_KEY } })
    ).json().keys;
    expect(keys.stripe_publishable_key.value).toBe(pk);
    expect(keys.stripe_secret_key.fingerprint).toBe(fingerprint(sk));
    const runs = (await d.call({ url: DASHBOARD_ROUTES.runs })).json().runs;
    expect(runs[0]).toMatchObject({ id: runId, actor: 'register', trigger: 'register', summary: { ok: 1 } });
    const audit = (await d.call({ url: DASHBOARD_ROUTES.audit }))
      .json()
      .entries.map((e: { action: string }) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['site.register', 'site.reregister', 'run.start']));
  });

  it("answers a site's publishable key to its own key or the master key, never a secret", async () => {
    for (const ref of ['shop', siteId]) {
      for (const key of [SITE_KEY, DASHBOARD_MASTER]) {
        const res = await stripeKey(ref, key);
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ success: true, publishable_key: pk });
        expect(res.body).not.toMatch(/sk_|rk_|whsec_/);
        expect(res.headers['cache-control']).toBe('no-store');
      }
    }
  });

  it('refuses a wrong or missing key, and reveals an unknown site only to a valid key', async () => {
    expect((await stripeKey('shop')).statusCode).toBe(401);
    expect((await stripeKey('shop', 'not-the-key-0123456789abcdef')).json()).toMatchObject({
      error: 'invalid_api_key',
    });
    expect((await stripeKey('ghost', SITE_KEY)).statusCode).toBe(401); // another site's key opens nothing here
    expect((await stripeKey('ghost', DASHBOARD_MASTER)).json()).toMatchObject({ error: 'site_not_found' });
  });

  it('refuses registration when no token is configured', async () => {
    const closed = await startTestDashboard({ env: { KEYFLEET_REGISTRATION_TOKEN: undefined } });
    try {
      const res = await closed.call({
        url: DASHBOARD_ROUTES.register,
        body: {},
        auth: 'none',
        headers: { authorization: `Bearer ${REGISTRATION_TOKEN}` },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: 'registration_disabled' });
    } finally {
      await closed.close();
    }
  });
});
