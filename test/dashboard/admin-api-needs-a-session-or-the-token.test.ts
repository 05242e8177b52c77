import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { ADMIN_PASSWORD, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

const ADMIN_CALLS: Array<{ method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; url: string }> = [
  { method: 'GET', url: DASHBOARD_ROUTES.session },
  { method: 'POST', url: DASHBOARD_ROUTES.logout },
  { method: 'GET', url: DASHBOARD_ROUTES.sites },
  { method: 'POST', url: DASHBOARD_ROUTES.sites },
  { method: 'PATCH', url: dashboardPath(DASHBOARD_ROUTES.site, { id: 's_0000000000' }) },
  { method: 'DELETE', url: dashboardPath(DASHBOARD_ROUTES.site, { id: 's_0000000000' }) },
  { method: 'POST', url: DASHBOARD_ROUTES.importSites },
  { method: 'POST', url: dashboardPath(DASHBOARD_ROUTES.rotateCredentials, { id: 's_0000000000' }) },
  { method: 'GET', url: DASHBOARD_ROUTES.keys },
  { method: 'POST', url: DASHBOARD_ROUTES.keys },
  { method: 'PUT', url: DASHBOARD_ROUTES.desired },
  { method: 'GET', url: DASHBOARD_ROUTES.runs },
  { method: 'POST', url: DASHBOARD_ROUTES.runs },
  { method: 'GET', url: dashboardPath(DASHBOARD_ROUTES.run, { id: 'x' }) },
  { method: 'GET', url: dashboardPath(DASHBOARD_ROUTES.runEvents, { id: 'x' }) },
  { method: 'POST', url: dashboardPath(DASHBOARD_ROUTES.resumeRun, { id: 'x' }) },
  { method: 'POST', url: dashboardPath(DASHBOARD_ROUTES.confirmRun, { id: 'x' }) },
  { method: 'POST', url: dashboardPath(DASHBOARD_ROUTES.retryFailed, { id: 'x' }) },
  { method: 'GET', url: DASHBOARD_ROUTES.audit },
  { method: 'GET', url: DASHBOARD_ROUTES.verify },
  { method: 'POST', url: DASHBOARD_ROUTES.verify },
];

describe('the admin API needs a session or the Bearer token', () => {
  let d: TestDashboard;
  beforeEach(async () => {
    d = await startTestDashboard({ env: { KEYFLEET_LOGIN_FAILURES_PER_MINUTE: '3' } });
  });
  afterEach(() => d.close());

  it('answers 401 to every admin route without credentials, before looking at the body', async () => {
    for (const c of ADMIN_CALLS) {
      const res = await d.call({
        ...c,
        auth: 'none',
        body: c.method === 'GET' ? undefined : { url: 'not json-valid for the route' },
      });
      expect(res.statusCode, `${c.method} ${c.url}`).toBe(401);
      expect(res.json()).toMatchObject({ success: false, error: 'unauthorized' });
    }
  });

  it('accepts the Bearer token without CSRF, and refuses a wrong one (429 once the address failed too often)', async () => {
    expect((await d.call({ url: DASHBOARD_ROUTES.session })).json()).toMatchObject({
      success: true,
      via: 'token',
      csrf_token: null,
    });
    const wrong = { authorization: 'Bearer not-the-token-0123456789abcdef0123' };
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push((await d.call({ url: DASHBOARD_ROUTES.sites, headers: wrong, auth: 'none' })).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429]); // more than 3 failures in a minute
  });

  it('logs in with the password: HttpOnly, SameSite=Strict cookie, Secure only behind https', async () => {
    const s = await d.login();
    expect(s.setCookie).toMatch(/HttpOnly/);
    expect(s.setCookie).toMatch(/SameSite=Strict/);
    expect(s.setCookie).not.toMatch(/Secure/);
    expect(s.csrf).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const me = await d.call({ url: DASHBOARD_ROUTES.session, headers: { cookie: s.cookie } });
    expect(me.json()).toEqual({ success: true, via: 'session', csrf_token: s.csrf });

    const secure = await startTestDashboard({ env: { KEYFLEET_TRUST_PROXY: '127.0.0.1' } });
    try {
      const res = await secure.call({
        url: DASHBOARD_ROUTES.login,
        body: { password: ADMIN_PASSWORD },
        headers: { 'x-forwarded-proto': 'https' },
        auth: 'none',
      });
      expect(String(res.headers['set-cookie'])).toMatch(/; Secure/);
    } finally {
      await secure.close();
    }
  });

  it('refuses a wrong password, then locks the address out with Retry-After', async () => {
    const attempt = () =>
      d.call({ url: DASHBOARD_ROUTES.login, body: { password: 'wrong-password-123' }, auth: 'none' });
    // KEYFLEET_LOGIN_FAILURES_PER_MINUTE=3: three failures are answered, the fourth is refused.
    expect((await attempt()).json()).toMatchObject({ error: 'invalid_password' });
    await attempt();
    expect((await attempt()).statusCode).toBe(401);
    const fourth = await attempt();
    expect(fourth.statusCode).toBe(429);
    expect(Number(fourth.headers['retry-after'])).toBeGreaterThan(0);
    // Locked out even with the right password until the window ends.
    const right = await d.call({
      url: DASHBOARD_ROUTES.login,
      body: { password: ADMIN_PASSWORD },
      auth: 'none',
    });
    expect(right.statusCode).toBe(429);
    // The lockout is per address: another one is not affected.
    const audit = await d.call({ url: DASHBOARD_ROUTES.audit, from: '127.0.0.2' });
    // The fourth attempt was refused before the password hash: three checks, three failures (issue 12).
    expect(audit.json().entries.filter((e: { action: string }) => e.action === 'login.failed')).toHaveLength(
      3,
    );
  });

  it('refuses a session write without the CSRF token, as JSON or as a form', async () => {
    const s = await d.login();
    const site = { url: 'https://shop.example.fr' };
    const noToken = await d.call({
      method: 'POST',
      url: DASHBOARD_ROUTES.sites,
      body: site,
      headers: { cookie: s.cookie },
    });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json()).toMatchObject({ error: 'csrf_failed' });
    const formNoToken = await d.call({
      method: 'POST',
      url: DASHBOARD_ROUTES.sites,
      form: site,
      headers: { cookie: s.cookie },
    });
    expect(formNoToken.statusCode).toBe(403);
    const badToken = await d.call({
      method: 'POST',
      url: DASHBOARD_ROUTES.sites,
      form: { ...site, _csrf: 'x'.repeat(43) },
      headers: { cookie: s.cookie },
    });
    expect(badToken.statusCode).toBe(403);
    expect((await d.call({ url: DASHBOARD_ROUTES.sites })).json().sites).toEqual([]);

    const form = await d.call({
      method: 'POST',
      url: DASHBOARD_ROUTES.sites,
      form: { ...site, tags: 'eu,prod', _csrf: s.csrf },
      headers: { cookie: s.cookie },
    });
    expect(form.statusCode).toBe(201);
    expect(form.json().site).toMatchObject({
      url: 'https://shop.example.fr',
      tags: ['eu', 'prod'],
      added_by: 'admin',
    });
    const json = await d.call({
      method: 'POST',
      url: DASHBOARD_ROUTES.sites,
      body: { url: 'https://blog.example.fr' },
      headers: d.csrfHeaders(s),
    });
    expect(json.statusCode).toBe(201);
    // The right token from another origin is still refused.
    const foreign = await d.call({
      method: 'POST',
      url: DASHBOARD_ROUTES.sites,
      body: { url: 'https://x.example.fr' },
      headers: { ...d.csrfHeaders(s), origin: 'https://evil.example' },
    });
    expect(foreign.statusCode).toBe(403);
  });

  it('ends the session on logout', async () => {
    const s = await d.login();
    expect(
      (await d.call({ method: 'POST', url: DASHBOARD_ROUTES.logout, headers: { cookie: s.cookie } }))
        .statusCode,
    ).toBe(403);
    const out = await d.call({ method: 'POST', url: DASHBOARD_ROUTES.logout, headers: d.csrfHeaders(s) });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(/Max-Age=0/);
    expect((await d.call({ url: DASHBOARD_ROUTES.session, headers: { cookie: s.cookie } })).statusCode).toBe(
      401,
    );
  });
});
