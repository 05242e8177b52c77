import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { ROUTES } from '../../src/protocol/routes.js';
import { openStateStore } from '../../src/store/open-state-store.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { parseSse, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

/** The dashboard gives a site its own key through the site's rotate/confirm, and keeps pushing to it. */
describe('per-site credentials', () => {
  let site: TestSite;
  let d: TestDashboard;
  let id = '';

  const accepts = async (key: string) =>
    (await site.app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': key } })).json()
      .authenticated === true;
  const push = async () => {
    const start = await d.call({ url: DASHBOARD_ROUTES.runs, body: { sites: [id], canary: 0 } });
    const events = parseSse(
      (await d.call({ url: dashboardPath(DASHBOARD_ROUTES.runEvents, { id: start.json().run_id }) })).body,
    );
    return (events.at(-1)?.data as { summary: Record<string, number> }).summary;
  };

  beforeAll(async () => {
    site = await startTestSite();
    await site.app.listen({ port: 0, host: '127.0.0.1' });
    d = await startTestDashboard({ env: { KEYFLEET_RETRIES: '0' } });
    const url = `http://127.0.0.1:${(site.app.server.address() as AddressInfo).port}`;
    id = (await d.call({ url: DASHBOARD_ROUTES.sites, body: { url, name: 'shop' } })).json().site.id;
    await d.call({
      url: DASHBOARD_ROUTES.keys,
      body: { make_default: true, publishable_key: makeKey('pk'), secret_key: makeKey('sk') },
    });
  });
  afterAll(async () => {
    await d.close();
    await site.close();
  });

  it('rotates to a key of its own, never shown, and pushes with it', async () => {
    const res = await d.call({ url: dashboardPath(DASHBOARD_ROUTES.rotateCredentials, { id }), body: {} });
    expect(res.statusCode).toBe(200);
    expect(res.json().site).toMatchObject({ id, has_api_key: true });
    // The shared key still opens the site: it was not retired.
    expect(await accepts(MASTER_KEY)).toBe(true);
    expect(await push()).toMatchObject({ total: 1, ok: 1 });
    const entry = (await d.call({ url: DASHBOARD_ROUTES.audit }))
      .json()
      .entries.find((e: { action: string }) => e.action === 'site.rotate_credentials');
    expect(entry.detail.api_key_fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // The key, read back from the vault, opens the site and appears nowhere the dashboard wrote.
    const store = await openStateStore({ env: d.env });
    try {
      const key = (await store.fleet.siteApiKey(id)) as string;
      expect(key).toHaveLength(43);
      expect(await accepts(key)).toBe(true);
      expect(await d.everything()).not.toContain(key);
    } finally {
      await store.close();
    }
  });

  it('rotates again and retires the shared key: only the dashboard can open the site now', async () => {
    const res = await d.call({
      url: dashboardPath(DASHBOARD_ROUTES.rotateCredentials, { id }),
      body: { retire_shared_key: true },
    });
    expect(res.statusCode).toBe(200);
    expect(await accepts(MASTER_KEY)).toBe(false);
    await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: makeKey('pk') } });
    expect(await push()).toMatchObject({ total: 1, ok: 1 });
  });

  it('answers 502 naming the failure when the site refuses, and keeps the key that works', async () => {
    const other = await startTestDashboard({
      env: { TEMPLATE_MASTER_API_KEY: MASTER_KEY, KEYFLEET_RETRIES: '0' },
    });
    try {
      const url = `http://127.0.0.1:${(site.app.server.address() as AddressInfo).port}`;
      const otherId = (await other.call({ url: DASHBOARD_ROUTES.sites, body: { url } })).json().site.id;
      const res = await other.call({
        url: dashboardPath(DASHBOARD_ROUTES.rotateCredentials, { id: otherId }),
        body: {},
      });
      expect(res.statusCode).toBe(502);
      expect(res.json()).toMatchObject({
        error: 'site_request_failed',
        message: expect.stringMatching(/rotate: invalid_api_key/),
      });
      expect((await other.call({ url: DASHBOARD_ROUTES.sites })).json().sites[0].has_api_key).toBe(false);
    } finally {
      await other.close();
    }
  });
});
