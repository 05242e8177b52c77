import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSiteClient, type SiteClient } from '../../src/engine/site-client.js';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { startCountingProxy, type CountingProxy } from '../fault-fleet/counting-proxy.js';
import { makeKey } from '../helpers/keys.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { REGISTRATION_TOKEN, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

/**
 * Issue 12, finding 1 and 2, as attacks on loopback: a stranger holding only the registration token
 * registers a listener. Every request the dashboard makes goes through a counting proxy, so "the
 * listener received nothing" is a count of what left the dashboard for its host.
 */
const ATTACKER_KEY = `attacker-${randomBytes(20).toString('hex')}`;
const SITE_KEY = `site-own-${randomBytes(20).toString('hex')}`;

const registerOn =
  (d: TestDashboard) =>
  (body: Record<string, unknown>, from = '127.0.0.1') =>
    d.call({
      url: DASHBOARD_ROUTES.register,
      body,
      auth: 'none',
      from,
      headers: { authorization: `Bearer ${REGISTRATION_TOKEN}` },
    });

describe('a registration with the token alone', () => {
  let proxy: CountingProxy;
  let client: SiteClient;
  let d: TestDashboard;
  const seen = () => [...proxy.connects, ...proxy.requests].filter((r) => r.includes('listener.invalid'));

  beforeAll(async () => {
    proxy = await startCountingProxy();
    client = createSiteClient({
      timeoutMs: 3000,
      retries: 0,
      concurrency: 4,
      allowHttp: true,
      env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url },
    });
    d = await startTestDashboard({ client, env: { KEYFLEET_ALLOW_HTTP: 'true' } });
    const keys = await d.call({
      url: DASHBOARD_ROUTES.keys,
      body: { make_default: true, publishable_key: makeKey('pk'), secret_key: makeKey('sk') },
    });
    expect(keys.statusCode).toBe(201);
  });
  afterAll(async () => {
    await d.close();
    await client.close();
    await proxy.close();
  });

  it('is pending (202), starts no run, and nothing is ever sent to it until an admin approves it', async () => {
    const res = await registerOn(d)({ site_url: 'http://listener.invalid', api_key: ATTACKER_KEY });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ success: true, approval: 'pending', run_id: null });
    const id = res.json().site_id as string;
    const [site] = (await d.call({ url: DASHBOARD_ROUTES.sites })).json().sites;
    expect(site).toMatchObject({ id, approval: 'pending', approved_at: null });
    expect((await d.call({ url: DASHBOARD_ROUTES.runs })).json().runs).toEqual([]);
    // It should hold no key version yet: it never keeps the fleet from being safe to roll.
    const summary = (await d.call({ url: `${DASHBOARD_ROUTES.sites}?summary=true` })).json().summary;
    expect(summary.versions).toEqual({});
    expect(summary.statuses.all).toBe(1);

    // Every way the dashboard reaches sites skips it or refuses.
    expect((await d.call({ url: DASHBOARD_ROUTES.runs, body: {} })).json()).toMatchObject({
      error: 'no_sites_selected',
    });
    expect((await d.call({ url: DASHBOARD_ROUTES.runs, body: { sites: [id] } })).json()).toMatchObject({
      error: 'site_pending',
    });
    expect((await d.call({ url: dashboardPath(DASHBOARD_ROUTES.siteDoctor, { id }), body: {} })).statusCode).toBe(409);
    expect(
      (await d.call({ url: dashboardPath(DASHBOARD_ROUTES.rotateCredentials, { id }), body: {} })).json(),
    ).toMatchObject({ error: 'site_pending' });
    expect((await d.call({ url: DASHBOARD_ROUTES.verify, body: { wait: true } })).statusCode).toBe(200);
    expect(seen()).toEqual([]);

    // The approval is what lets the keys go: now the dashboard does try to reach the listener.
    const approved = await d.call({ url: dashboardPath(DASHBOARD_ROUTES.approveSite, { id }), body: {} });
    expect(approved.statusCode).toBe(200);
    expect(approved.json().site).toMatchObject({ approval: 'approved', approved_by: 'api-token' });
    const runId = approved.json().run_id as string;
    expect(runId).toMatch(/^\d{8}-/);
    // The run's first request to the listener shows at the proxy (the run's own end is not awaited:
    // the proxy refuses the tunnel, and a shared run on Postgres retries such a job).
    for (let i = 0; i < 400 && seen().length === 0; i++) await sleep(25);
    expect(seen().length).toBeGreaterThan(0);
    const audit = (await d.call({ url: DASHBOARD_ROUTES.audit })).json().entries.map((e: { action: string }) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['site.register', 'site.approve']));
    expect(await d.everything()).not.toContain(ATTACKER_KEY);
  });

  it('refuses loopback, private, link-local and metadata addresses in every spelling (403)', async () => {
    const before = (await d.call({ url: DASHBOARD_ROUTES.sites })).json().total;
    for (const [i, url] of [
      'http://127.0.0.1:5000',
      'http://127.1:5000',
      'http://0x7f000001:5000',
      'http://[::1]:5000',
      'http://LOCALHOST.:5000',
      'http://169.254.169.254',
      'http://[::ffff:169.254.169.254]',
      'http://metadata.google.internal',
      'http://10.0.0.7',
      'http://192.168.1.1',
      'http://100.64.0.1',
      'https://[fd00::1]',
    ].entries()) {
      const res = await registerOn(d)({ site_url: url, api_key: ATTACKER_KEY }, `10.9.9.${i}`);
      expect({ url, status: res.statusCode, error: res.json().error }).toEqual({
        url,
        status: 403,
        error: 'registration_host_refused',
      });
    }
    expect((await d.call({ url: DASHBOARD_ROUTES.sites })).json().total).toBe(before);
  });

  it('limits registrations per address and dashboard-wide (429 too_many_registrations)', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 12; i++)
      codes.push((await registerOn(d)({ site_url: `https://s${i}.invalid`, api_key: ATTACKER_KEY }, '10.1.1.1')).statusCode);
    expect(codes.slice(0, 10).every((c) => c === 202)).toBe(true);
    expect(codes.slice(10)).toEqual([429, 429]);

    const small = await startTestDashboard({ env: { KEYFLEET_REGISTRATIONS_PER_MINUTE: '1' } });
    try {
      const overall: number[] = [];
      for (let i = 0; i < 7; i++)
        overall.push((await registerOn(small)({ site_url: `https://o${i}.invalid`, api_key: ATTACKER_KEY }, `10.2.0.${i}`)).statusCode);
      expect(overall).toEqual([202, 202, 202, 202, 202, 429, 429]);
    } finally {
      await small.close();
    }
  });
});

describe('a re-registration of a known site', () => {
  let site: TestSite;
  let port = 0;
  let d: TestDashboard;
  const stripeKey = (key: string) =>
    d.call({
      url: dashboardPath(DASHBOARD_ROUTES.siteStripeKey, { site: 'shop' }),
      auth: 'none',
      from: '127.0.0.50',
      headers: { 'x-api-key': key },
    });

  beforeAll(async () => {
    site = await startTestSite({ config: { masterKeys: [SITE_KEY] } });
    await site.app.listen({ port: 0, host: '127.0.0.1' });
    port = (site.app.server.address() as AddressInfo).port;
    d = await startTestDashboard({
      env: { KEYFLEET_RETRIES: '0', KEYFLEET_REGISTRATION_ALLOWED_HOSTS: '127.0.0.1, localhost, ::1' },
    });
  });
  afterAll(async () => {
    await d.close();
    await site.close();
  });

  it('needs the current key under every alias of its URL, else 409 and the stored key stays', async () => {
    const first = await registerOn(d)({ site_url: `http://127.0.0.1:${port}`, site_name: 'shop', api_key: SITE_KEY });
    expect(first.statusCode).toBe(201);
    expect(first.json().approval).toBe('approved'); // a listed host is approved at once
    const aliases = [
      `http://127.0.0.1:${port}`,
      `http://localhost:${port}`,
      `http://127.1:${port}`,
      `http://0x7f000001:${port}`,
      `http://[::1]:${port}`,
      `HTTP://LocalHost.:${port}/`,
    ];
    for (const [i, url] of aliases.entries()) {
      const res = await registerOn(d)({ site_url: url, api_key: ATTACKER_KEY }, `10.3.0.${i}`);
      expect({ url, status: res.statusCode, error: res.json().error }).toEqual({
        url,
        status: 409,
        error: 'current_key_required',
      });
    }
    const wrong = await registerOn(d)(
      { site_url: `http://localhost:${port}`, api_key: ATTACKER_KEY, current_api_key: ATTACKER_KEY },
      '10.3.1.1',
    );
    expect(wrong.json()).toMatchObject({ error: 'current_key_required' });
    expect((await d.call({ url: DASHBOARD_ROUTES.sites })).json().total).toBe(1);
    expect((await stripeKey(SITE_KEY)).statusCode).toBe(404); // still the site's key (no pk desired yet)
    expect((await stripeKey(ATTACKER_KEY)).statusCode).toBe(401);

    const NEW_KEY = `site-new-${randomBytes(20).toString('hex')}`;
    const ok = await registerOn(d)({
      site_url: `http://localhost:${port}`,
      api_key: NEW_KEY,
      current_api_key: SITE_KEY,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().site_id).toBe(first.json().site_id);
    expect((await stripeKey(NEW_KEY)).statusCode).toBe(404);
    expect(await d.everything()).not.toContain(NEW_KEY);
  });
});
