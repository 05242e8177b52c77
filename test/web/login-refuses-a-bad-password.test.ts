import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/protocol/dashboard-routes.js';
import { launchBrowser, openPage, type WatchedPage } from '../helpers/browser.js';
import {
  ADMIN_PASSWORD,
  LAPTOP,
  logIn,
  poll,
  shot,
  startWebDashboard,
  unexpectedConsoleErrors,
  type WebDashboard,
  closeTab,
} from './web-fixture.js';

/**
 * The dashboard's login in Debian's Chromium: the page loads under its strict CSP, a wrong password
 * is refused and says so, the right one opens the dashboard (and survives a reload), logout ends the
 * session, the form works from the keyboard alone, and repeated failures lock the address out.
 */
describe('logging in to the dashboard', () => {
  let d: WebDashboard;
  let browser: Browser;
  let tab: WatchedPage;

  beforeAll(async () => {
    d = await startWebDashboard();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await d?.close();
  });
  beforeEach(async () => {
    tab = await openPage(browser);
    await tab.page.setViewportSize(LAPTOP);
  });
  afterEach(async () => {
    await closeTab(tab);
    expect(tab.blocked, 'requests that tried to leave the machine').toEqual([]);
  });

  const password = (page: Page) => page.getByLabel('Admin password');
  const submit = (page: Page) => page.getByRole('button', { name: 'Log in' });
  const alert = async (page: Page) =>
    ((await page.locator('#login-error[role="alert"]').textContent()) ?? '').trim();
  const isFocused = (target: Locator) => target.evaluate((el) => el === el.ownerDocument.activeElement);
  /** What the page's own fetch gets from the admin API (with whatever cookie the browser holds). */
  const apiStatus = (page: Page) => page.evaluate(async () => (await fetch('/api/admin/sites')).status);
  const sessionCookie = async () => (await tab.context.cookies()).find((c) => c.name === SESSION_COOKIE);

  it('serves the login page under a strict CSP, with its own assets only and no console error', async () => {
    const { page } = tab;
    const res = await page.goto(d.url);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src 'self'(;|$)/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|upgrade-insecure-requests/);
    expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
    await poll(() => password(page).isVisible()).toBe(true);
    expect(await isFocused(password(page))).toBe(true);
    expect(await page.title()).toBe('Log in · keyfleet');
    // The stylesheet applied (the login card is 24rem wide at a 15px root size).
    expect(await page.locator('.login-card').evaluate((el) => el.getBoundingClientRect().width)).toBe(360);
    const loaded = tab.responses.map((r) => new URL(r.url).pathname);
    expect(loaded).toEqual(
      expect.arrayContaining(['/', '/web/app.css', '/web/js/main.js', '/web/js/protocol.js']),
    );
    expect(tab.responses.filter((r) => r.status >= 400 && r.status !== 401)).toEqual([]);
    await shot(page, '01-login');
    // The one 401 is the session probe of a browser that is not logged in.
    expect(unexpectedConsoleErrors(tab.consoleErrors)).toEqual([]);
  });

  it('refuses a wrong password: says so, keeps focus in the field, sets no session', async () => {
    const { page } = tab;
    await page.goto(d.url);
    await password(page).fill('not-the-password-at-all');
    await submit(page).click();
    await poll(() => alert(page)).toBe('Wrong password. Nothing was changed; try again.');
    expect(await isFocused(password(page))).toBe(true);
    expect(await password(page).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Log in to the dashboard');
    expect(await page.locator('#topbar').isHidden()).toBe(true);
    expect(await sessionCookie()).toBeUndefined();
    expect(await apiStatus(page)).toBe(401);
    const login = tab.responses.find((r) => r.url === `${d.url}/api/admin/login`);
    expect(login?.status).toBe(401);
    expect(JSON.parse(login?.body ?? '{}')).toMatchObject({ error: 'invalid_password' });
    await shot(page, '02-login-refused');
  });

  it('logs in with the right password, keeps the session over a reload, and logs out', async () => {
    const { page } = tab;
    await logIn(page, d.url);
    const cookie = await sessionCookie();
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.locator('[aria-current="page"]').textContent()).toBe('Sites');
    expect(await apiStatus(page)).toBe(200);

    await page.reload();
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Sites');

    await page.getByRole('button', { name: 'Log out' }).click();
    await poll(() => page.getByRole('status').first().textContent()).toBe('You are logged out.');
    expect(await password(page).isVisible()).toBe(true);
    expect(await apiStatus(page)).toBe(401);
    await page.goto(`${d.url}/#/keys`);
    await poll(() => password(page).isVisible()).toBe(true);
  });

  it('works from the keyboard alone: skip link, password, button; Enter logs in; focus is visible', async () => {
    const { page } = tab;
    await page.goto(d.url);
    await poll(() => isFocused(password(page))).toBe(true);
    // The skip link comes first, then the field, then the button.
    await page.keyboard.press('Shift+Tab');
    expect(await isFocused(page.getByRole('link', { name: 'Skip to content' }))).toBe(true);
    expect(await page.getByRole('link', { name: 'Skip to content' }).isVisible()).toBe(true);
    await page.keyboard.press('Tab');
    expect(await isFocused(password(page))).toBe(true);
    await page.keyboard.type(ADMIN_PASSWORD);
    await page.keyboard.press('Tab');
    expect(await isFocused(submit(page))).toBe(true);
    const outline = await submit(page).evaluate((el) => {
      const style = el.ownerDocument.defaultView!.getComputedStyle(el);
      return `${style.outlineStyle} ${style.outlineWidth}`;
    });
    expect(outline).toBe('solid 3px');
    await shot(page, '03-login-keyboard-focus');
    await page.keyboard.press('Enter');
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Sites');
    // Issue 11: focus lands on the page's heading after login (not on <body>), and the top bar is
    // one Shift+Tab away: Log out, then the nav in order.
    await poll(() => isFocused(page.getByRole('heading', { level: 1 }))).toBe(true);
    await page.keyboard.press('Shift+Tab');
    expect(await isFocused(page.getByRole('button', { name: 'Log out' }))).toBe(true);
    const nav = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
    expect(await nav.allTextContents()).toEqual(['Sites', 'Keys', 'Push', 'History']);
    await page.keyboard.press('Shift+Tab');
    expect(await isFocused(nav.last())).toBe(true);
    // The focus ring is at least 3:1 against what it is drawn on, in the top bar and on the page.
    const ratio = (target: Locator, background: string) =>
      target.evaluate((el, bg) => {
        const rgb = (c: string) => (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
        const lum = (c: string) => {
          const [r, g, b] = rgb(c).map((v) => {
            const s = v / 255;
            return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
          });
          return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
        };
        const style = el.ownerDocument.defaultView!.getComputedStyle(el);
        const [a, b] = [lum(style.outlineColor), lum(bg)];
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      }, background);
    const bg = (selector: string) =>
      page.locator(selector).evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).backgroundColor);
    const bodyBg = await bg('body');
    const barBg = await bg('#topbar');
    expect(await ratio(nav.last(), barBg)).toBeGreaterThanOrEqual(3);
    await page.getByRole('button', { name: 'Add site' }).focus();
    expect(await ratio(page.getByRole('button', { name: 'Add site' }), bodyBg)).toBeGreaterThanOrEqual(3);
  });

  it('locks the address out after repeated failures: even the right password waits', async () => {
    const { page } = tab;
    await page.goto(d.url);
    // KEYFLEET_LOGIN_FAILURES_PER_MINUTE is 5 by default (an earlier test spent one).
    for (let i = 0; i < 6 && !/^Too many/.test(await alert(page)); i++) {
      await password(page).fill(`wrong-${i}-password`);
      await submit(page).click();
      await poll(() => submit(page).isEnabled()).toBe(true);
    }
    expect(await alert(page)).toMatch(
      /^Too many failed attempts from this address\. Try again in \d+ seconds\.$/,
    );
    await password(page).fill(ADMIN_PASSWORD);
    await submit(page).click();
    await poll(() => submit(page).isEnabled()).toBe(true);
    expect(await alert(page)).toMatch(/^Too many failed attempts/);
    expect(await sessionCookie()).toBeUndefined();
    const statuses = tab.responses.filter((r) => r.url.endsWith('/api/admin/login')).map((r) => r.status);
    expect(statuses.slice(-2)).toEqual([429, 429]);
    expect(statuses.slice(0, -2).every((s) => s === 401)).toBe(true);
    await shot(page, '04-login-locked-out');
  });
});
