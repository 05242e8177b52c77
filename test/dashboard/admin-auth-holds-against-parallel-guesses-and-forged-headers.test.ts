import { afterEach, describe, expect, it } from 'vitest';
import { DashboardConfigError, dashboardConfigFromEnv } from '../../src/dashboard/config.js';
import { DASHBOARD_ROUTES, SESSION_COOKIE } from '../../src/protocol/dashboard-routes.js';
import { ADMIN_PASSWORD, ADMIN_TOKEN, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

/**
 * Issue 12, findings 3, 4 and 8, as attacks on one dashboard: parallel password guesses, a forged
 * X-Forwarded-For, a password change, cookies over https, caching and oversized bodies.
 */
describe('the admin login and session', () => {
  let d: TestDashboard | undefined;
  afterEach(async () => {
    await d?.close();
    d = undefined;
  });
  const login = (dash: TestDashboard, password: string, from: string, headers: Record<string, string> = {}) =>
    dash.call({ url: DASHBOARD_ROUTES.login, body: { password }, auth: 'none', from, headers });
  const failedChecks = async (dash: TestDashboard) =>
    (await dash.call({ url: DASHBOARD_ROUTES.audit, from: '127.0.0.254' })).json()
      .entries.filter((e: { action: string }) => e.action === 'login.failed');

  it('200 parallel guesses from one address make at most the allowed number of password checks', async () => {
    d = await startTestDashboard();
    const dash = d;
    const guesses = Array.from({ length: 200 }, (_, i) => login(dash, `wrong-password-${i}`, '10.5.5.5'));
    // A real admin elsewhere logs in during the burst, and is not made to wait behind it.
    const real = login(dash, ADMIN_PASSWORD, '10.5.5.6');
    const codes = (await Promise.all(guesses)).map((r) => r.statusCode);
    expect((await real).statusCode).toBe(200);
    expect(codes.filter((c) => c === 401).length).toBeLessThanOrEqual(5); // KEYFLEET_LOGIN_FAILURES_PER_MINUTE
    expect(codes.filter((c) => c !== 401).every((c) => c === 429)).toBe(true);
    expect((await failedChecks(dash)).length).toBeLessThanOrEqual(5);
    // The right password from the locked address is refused too, until the window ends.
    expect((await login(dash, ADMIN_PASSWORD, '10.5.5.5')).statusCode).toBe(429);
    // The Bearer token is never locked out by someone else's guesses from the same address.
    const bad = { authorization: 'Bearer not-the-token-0123456789abcdef0123' };
    for (let i = 0; i < 8; i++) await dash.call({ url: DASHBOARD_ROUTES.sites, auth: 'none', headers: bad, from: '10.5.5.5' });
    expect((await dash.call({ url: DASHBOARD_ROUTES.sites, auth: 'none', headers: bad, from: '10.5.5.5' })).statusCode).toBe(429);
    expect((await dash.call({ url: DASHBOARD_ROUTES.sites, from: '10.5.5.5' })).statusCode).toBe(200);
  });

  it('a flood from many addresses is answered at once, a bounded number is checked, and a real login then works', async () => {
    d = await startTestDashboard();
    const dash = d;
    const codes = (
      await Promise.all(Array.from({ length: 100 }, (_, i) => login(dash, 'wrong-password-x', `10.6.${i >> 8}.${i & 255}`)))
    ).map((r) => r.statusCode);
    expect(codes.every((c) => c === 401 || c === 429)).toBe(true);
    expect(codes.filter((c) => c === 401).length).toBeLessThanOrEqual(4 + 32); // in flight + queued
    expect((await login(dash, ADMIN_PASSWORD, '10.6.9.9')).statusCode).toBe(200);
  });

  it('a forged X-Forwarded-For changes nothing without a trusted proxy', async () => {
    d = await startTestDashboard({ env: { KEYFLEET_LOGIN_FAILURES_PER_MINUTE: '3' } });
    const codes: number[] = [];
    for (let i = 0; i < 6; i++)
      codes.push((await login(d, 'wrong-password-y', '10.7.0.1', { 'x-forwarded-for': `203.0.113.${i}` })).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429, 429]);
    const ips = (await failedChecks(d)).map((e: { detail: { ip: string } }) => e.detail.ip);
    expect(new Set(ips)).toEqual(new Set(['10.7.0.1']));
  });

  it('trusts X-Forwarded-For only from the configured proxies (addresses/CIDRs or a hop count), never "true"', async () => {
    d = await startTestDashboard({ env: { KEYFLEET_TRUST_PROXY: '10.8.0.0/16' } });
    await login(d, 'wrong-password-z', '10.8.0.1', { 'x-forwarded-for': '198.51.100.7' }); // a trusted proxy
    await login(d, 'wrong-password-z', '10.9.0.1', { 'x-forwarded-for': '198.51.100.8' }); // not a proxy
    const ips = (await failedChecks(d)).map((e: { detail: { ip: string } }) => e.detail.ip).sort();
    expect(ips).toEqual(['10.9.0.1', '198.51.100.7']);

    expect(dashboardConfigFromEnv({ KEYFLEET_TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(dashboardConfigFromEnv({ KEYFLEET_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(dashboardConfigFromEnv({ KEYFLEET_TRUST_PROXY: '127.0.0.1, ::1' }).trustProxy).toEqual(['127.0.0.1', '::1']);
    for (const bad of ['true', 'yes', 'everyone', '10.0.0.0/8;rm'])
      expect(() => dashboardConfigFromEnv({ KEYFLEET_TRUST_PROXY: bad })).toThrow(DashboardConfigError);
    expect(() => dashboardConfigFromEnv({ KEYFLEET_TRUST_PROXY: 'true' })).toThrow(/hop|CIDR/);
  });

  it('ends every session when the password changes, keeps them when it does not', async () => {
    d = await startTestDashboard();
    const s = await d.login();
    const me = () => d!.call({ url: DASHBOARD_ROUTES.session, headers: { cookie: s.cookie }, auth: 'none' });
    await d.restart();
    expect((await me()).statusCode).toBe(200);
    d.env.KEYFLEET_ADMIN_PASSWORD = `${ADMIN_PASSWORD}-changed`;
    await d.restart();
    expect((await me()).statusCode).toBe(401);
    expect((await login(d, `${ADMIN_PASSWORD}-changed`, '10.4.0.1')).statusCode).toBe(200);
  });

  it('names the cookie __Host- over https (and only that one counts there), kf_session over http', async () => {
    d = await startTestDashboard({ env: { KEYFLEET_TRUST_PROXY: '127.0.0.1' } });
    const https = { 'x-forwarded-proto': 'https' };
    const res = await login(d, ADMIN_PASSWORD, '127.0.0.1', https);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^__Host-${SESSION_COOKIE}=[^;]+; Path=/; HttpOnly; SameSite=Strict; Max-Age=\\d+; Secure$`));
    const id = /^[^=]+=([^;]+)/.exec(setCookie)?.[1] ?? '';
    const as = (cookie: string, headers: Record<string, string>) =>
      d!.call({ url: DASHBOARD_ROUTES.session, auth: 'none', headers: { cookie, ...headers } });
    expect((await as(`__Host-${SESSION_COOKIE}=${id}`, https)).statusCode).toBe(200);
    expect((await as(`${SESSION_COOKIE}=${id}`, https)).statusCode).toBe(401);
    const plain = await login(d, ADMIN_PASSWORD, '127.0.0.1');
    expect(String(plain.headers['set-cookie'])).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
  });

  it('answers admin JSON with Cache-Control: no-store, and a body over 1 MB with 413', async () => {
    d = await startTestDashboard();
    const res = await d.call({ url: DASHBOARD_ROUTES.sites });
    expect(res.headers['cache-control']).toBe('no-store');
    const login = await d.call({ url: DASHBOARD_ROUTES.login, body: { password: 'x'.repeat(20) }, auth: 'none' });
    expect(login.headers['cache-control']).toBe('no-store');
    const big = await d.call({ url: DASHBOARD_ROUTES.sites, body: { url: `https://a.example.fr/${'x'.repeat(1_100_000)}` } });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ error: 'payload_too_large' });
    expect(ADMIN_TOKEN.length).toBeGreaterThanOrEqual(32);
  });
});
