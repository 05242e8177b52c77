import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { API_KEY_HEADER, settingPath } from '../../src/protocol/routes.js';
import { startFakeStripe, type FakeStripe } from '../fake-stripe/server.js';
import {
  fakeKey,
  startFakeSite,
  startFault,
  type FakeSiteServer,
  type FaultServer,
} from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

interface Check {
  name: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  detail: string;
  duration_ms: number;
}
interface DoctorAnswer {
  success: true;
  site: { id: string; name: string; url: string };
  verdict: 'pass' | 'warn' | 'fail';
  compared_with: string | null;
  api_key: 'site' | 'master' | null;
  stripe: boolean;
  report: {
    url: string;
    checks: Check[];
    diagnosis: null | { code: string; hint: string; reproduce: string };
  };
}

const LADDER = [
  'url',
  'dns',
  'tcp',
  'tls',
  'http',
  'health',
  'stripe-pk',
  'stripe-health',
  'test-stripe',
  'latency',
];
const check = (a: DoctorAnswer, name: string) => a.report.checks.find((c) => c.name === name) as Check;

/**
 * POST /api/admin/sites/:id/doctor runs `keyfleet doctor`'s ladder on a registered site with the key
 * the dashboard pushes with and the site's desired key version: a real template site (keys pushed,
 * Stripe behind it faked) passes; fault-fleet sites get the guide's diagnosis; the API's auth and CSRF
 * rules hold; one doctor per site; the time limit cuts a hanging site; no key leaks anywhere.
 */
describe('doctor per site from the dashboard', () => {
  let stripe: FakeStripe;
  let template: TestSite;
  let stale: FakeSiteServer;
  let badGateway: FaultServer;
  let hanging: FaultServer;
  let d: TestDashboard;
  let templateUrl = '';
  let healthyId = '';
  let staleId = '';
  let versionId = '';
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const staleSiteKey = fakeKey('api');
  const staleSecret = fakeKey('sk_test');

  const doctor = (id: string, body?: unknown, extra: Parameters<TestDashboard['call']>[0] | object = {}) =>
    d.call({ method: 'POST', url: dashboardPath(DASHBOARD_ROUTES.siteDoctor, { id }), body, ...extra });
  const addSite = async (url: string, name: string, apiKey?: string) =>
    (
      await d.call({
        url: DASHBOARD_ROUTES.sites,
        body: { url, name, ...(apiKey ? { api_key: apiKey } : {}) },
      })
    ).json().site.id as string;

  beforeAll(async () => {
    stripe = await startFakeStripe();
    template = await startTestSite({ config: { stripeApiBase: stripe.url, stripeTimeoutMs: 2000 } });
    await template.app.listen({ port: 0, host: '127.0.0.1' });
    templateUrl = `http://127.0.0.1:${(template.app.server.address() as AddressInfo).port}`;
    for (const [setting, value] of [
      ['stripe_publishable_key', pk],
      ['stripe_secret_key', sk],
    ] as const) {
      const res = await template.app.inject({
        method: 'PUT',
        url: settingPath(setting),
        headers: { [API_KEY_HEADER]: MASTER_KEY, 'content-type': 'application/json' },
        payload: JSON.stringify({ value }),
      });
      expect(res.statusCode).toBe(200);
    }
    // Says OK to every push but keeps serving what it had: its keys are not the desired ones.
    stale = await startFakeSite({ apiKey: staleSiteKey, stale: true, publishableKey: fakeKey('pk_test') });
    stale.state.settings.set('stripe_secret_key', staleSecret);
    badGateway = await startFault('badGatewayHtml');
    hanging = await startFault('timeout');
    d = await startTestDashboard({
      env: { KEYFLEET_RETRIES: '0', KEYFLEET_TIMEOUT_MS: '6000', KEYFLEET_DOCTOR_TIMEOUT_S: '3' },
    });
    versionId = (
      await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: pk, secret_key: sk } })
    ).json().version.id;
    healthyId = await addSite(templateUrl, 'shop');
    staleId = await addSite(stale.url, 'stale-shop', staleSiteKey);
  });
  afterAll(async () => {
    // The hanging site first: its open request would otherwise hold the dashboard's close.
    await hanging?.close();
    await d?.close();
    await Promise.all([badGateway?.close(), stale?.close(), template?.close(), stripe?.close()]);
  });

  it('passes every check of a healthy site, compared with its desired version, --stripe included', async () => {
    const res = await doctor('shop', { stripe: true });
    expect(res.statusCode, res.body).toBe(200);
    const a = res.json<DoctorAnswer>();
    expect(a).toMatchObject({
      success: true,
      site: { id: healthyId, name: 'shop', url: templateUrl },
      verdict: 'pass',
      compared_with: versionId,
      api_key: 'master',
      stripe: true,
    });
    // The report is `keyfleet doctor <url> --json` for this site.
    expect(Object.keys(a.report)).toEqual(['url', 'checks', 'diagnosis']);
    expect(a.report.url).toBe(templateUrl);
    expect(a.report.diagnosis).toBeNull();
    expect(a.report.checks.map((c) => c.name)).toEqual(LADDER);
    for (const c of a.report.checks) {
      if (c.name === 'tls') expect(c, 'tls').toMatchObject({ status: 'skip', detail: 'http' });
      else expect(c.status, `${c.name}: ${c.detail}`).toBe('pass');
    }
    expect(check(a, 'stripe-health').detail).toContain(
      'fingerprints match STRIPE_PUBLISHABLE_KEY, STRIPE_SECRET_KEY',
    );
    expect(check(a, 'test-stripe').detail).toContain('livemode false');
  });

  it('leaves the Stripe call out unless the body asks for it', async () => {
    const before = stripe.requests.length;
    const res = await doctor(healthyId);
    expect(res.statusCode, res.body).toBe(200);
    const a = res.json<DoctorAnswer>();
    expect(a).toMatchObject({ verdict: 'pass', stripe: false });
    expect(check(a, 'test-stripe')).toMatchObject({ status: 'skip', detail: 'not requested (--stripe)' });
    expect(stripe.requests.length).toBe(before);
  });

  it('opens a site with its own key and names what differs from the desired keys, the curl with $SITE_API_KEY', async () => {
    const res = await doctor(staleId);
    expect(res.statusCode, res.body).toBe(200);
    const a = res.json<DoctorAnswer>();
    expect(a).toMatchObject({ verdict: 'fail', api_key: 'site', compared_with: versionId });
    expect(check(a, 'stripe-pk').status).toBe('warn');
    expect(check(a, 'stripe-health').status).toBe('fail');
    expect(a.report.diagnosis).toMatchObject({ code: 'verify_mismatch' });
    expect(a.report.diagnosis?.hint).toMatch(/environment variable or a cache/);
    expect(a.report.diagnosis?.reproduce).toBe(
      `curl -sS -i --max-time 6 -H "X-API-Key: $SITE_API_KEY" '${stale.url}/api/health/stripe'`,
    );
    const entry = (await d.call({ url: DASHBOARD_ROUTES.audit })).json().entries[0];
    expect(entry).toMatchObject({
      actor: 'api-token',
      action: 'site.doctor',
      target: staleId,
      detail: { url: stale.url, verdict: 'fail', code: 'verify_mismatch', stripe: false },
    });
  });

  it("gives a fault site the guide's diagnosis from the first check that fails", async () => {
    const id = await addSite(badGateway.url, 'bad-gateway');
    const a = (await doctor(id)).json<DoctorAnswer>();
    expect(a.verdict).toBe('fail');
    expect(check(a, 'http')).toMatchObject({ status: 'fail' });
    expect(check(a, 'health')).toMatchObject({ status: 'skip', detail: 'not run: http failed' });
    expect(a.report.diagnosis).toMatchObject({
      code: 'bad_gateway',
      hint: expect.stringMatching(/application server behind the proxy is down/),
      reproduce: `curl -sS -I --max-time 6 '${badGateway.url}/'`,
    });
  });

  it('answers 401 without credentials and 404 for an unknown site', async () => {
    const anon = await doctor(healthyId, {}, { auth: 'none' });
    expect(anon.statusCode).toBe(401);
    expect(anon.json()).toMatchObject({ error: 'unauthorized' });
    const missing = await doctor('no-such-site', {});
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'site_not_found' });
  });

  it('with a session, needs the CSRF token from the same origin, as every other write', async () => {
    const s = await d.login();
    const url = dashboardPath(DASHBOARD_ROUTES.siteDoctor, { id: healthyId });
    const noToken = await d.call({ url, body: {}, headers: { cookie: s.cookie } });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json()).toMatchObject({ error: 'csrf_failed' });
    const foreign = await d.call({
      url,
      body: {},
      headers: { ...d.csrfHeaders(s), origin: 'https://evil.example' },
    });
    expect(foreign.statusCode).toBe(403);
    const ok = await d.call({ url, body: {}, headers: d.csrfHeaders(s) });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ verdict: 'pass' });
    // A plain form works too, with the token in the _csrf field.
    const form = await d.call({
      url,
      form: { stripe: 'false', _csrf: s.csrf },
      headers: { cookie: s.cookie },
    });
    expect(form.statusCode, form.body).toBe(200);
    const entries = (await d.call({ url: DASHBOARD_ROUTES.audit })).json().entries;
    expect(entries[0]).toMatchObject({ actor: 'admin', action: 'site.doctor', detail: { code: null } });
  });

  it('runs one doctor per site at a time, and cuts a hanging site at the time limit', async () => {
    const id = await addSite(hanging.url, 'hanging');
    const started = performance.now();
    const first = doctor(id);
    // The first doctor is on the wire once the site has its request.
    await expect.poll(() => hanging.calls, { timeout: 5000, interval: 20 }).toBeGreaterThan(0);
    const second = await doctor(id);
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ error: 'doctor_running' });
    // Other sites are not held up.
    expect((await doctor(healthyId)).statusCode).toBe(200);

    const res = await first;
    const elapsed = performance.now() - started;
    expect(res.statusCode, res.body).toBe(200);
    const a = res.json<DoctorAnswer>();
    expect(elapsed).toBeLessThan(5900); // the 3 s limit, not the 6 s request timeout
    expect(check(a, 'tcp').status).toBe('pass');
    expect(check(a, 'http')).toMatchObject({
      status: 'fail',
      detail: "stopped: the dashboard's doctor time limit (3 s) ran out",
    });
    expect(check(a, 'latency').status).toBe('skip');
    expect(a.report.diagnosis).toMatchObject({ code: 'timeout' });
    expect(a.report.diagnosis?.reproduce).toBe(`curl -sS -I --max-time 6 '${hanging.url}/'`);
  });

  it('never shows a key: not the site key, the master key or the Stripe secret, in any answer or log line', async () => {
    const everything = await d.everything();
    expect(everything).toContain('site.doctor');
    for (const secret of [staleSiteKey, MASTER_KEY, sk, staleSecret])
      expect(everything).not.toContain(secret);
    expect(d.logs.text()).toMatch(/doctor s_\w+: fail/);
  });
});
