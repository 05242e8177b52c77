import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES } from '../../src/protocol/dashboard-routes.js';
import { API_KEY_HEADER, settingPath } from '../../src/protocol/routes.js';
import { startFakeStripe, type FakeStripe } from '../fake-stripe/server.js';
import { launchBrowser, openPage, type WatchedPage } from '../helpers/browser.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import {
  ADMIN_TOKEN,
  closeTab,
  logIn,
  poll,
  shot,
  startWebDashboard,
  textOf,
  unexpectedConsoleErrors,
  type WebDashboard,
} from './web-fixture.js';

/**
 * The doctor from a site's row in Debian's Chromium: two real template sites holding the desired
 * keys (a Stripe-compatible fake behind them), one registered with a wrong key of its own. Its doctor shows the ladder, the diagnosis
 * (invalid_api_key at the authenticated check), the guide's fix and the curl command with
 * $SITE_API_KEY; the other passes every check. Opened and closed from the keyboard; no key in
 * anything the browser received.
 */
describe('an operator runs the doctor on a site', () => {
  let stripe: FakeStripe;
  const sites: TestSite[] = [];
  const urls: string[] = [];
  let d: WebDashboard;
  let browser: Browser;
  let tab: WatchedPage;
  let page: Page;
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const wrongKey = `wrong-site-key-${makeKey('sk').slice(8, 40)}`;

  beforeAll(async () => {
    stripe = await startFakeStripe();
    for (let i = 0; i < 2; i++) {
      const site = await startTestSite({ config: { stripeApiBase: stripe.url, stripeTimeoutMs: 2000 } });
      sites.push(site);
      await site.app.listen({ port: 0, host: '127.0.0.1' });
      urls.push(`http://127.0.0.1:${(site.app.server.address() as AddressInfo).port}`);
      for (const [setting, value] of [
        ['stripe_publishable_key', pk],
        ['stripe_secret_key', sk],
      ] as const) {
        const res = await site.app.inject({
          method: 'PUT',
          url: settingPath(setting),
          headers: { [API_KEY_HEADER]: MASTER_KEY, 'content-type': 'application/json' },
          payload: JSON.stringify({ value }),
        });
        expect(res.statusCode).toBe(200);
      }
    }
    d = await startWebDashboard();
    await d.api(DASHBOARD_ROUTES.keys, { make_default: true, publishable_key: pk, secret_key: sk });
    await d.api(DASHBOARD_ROUTES.sites, { url: urls[0], name: 'shop' });
    await d.api(DASHBOARD_ROUTES.sites, { url: urls[1], name: 'locked-shop', api_key: wrongKey });
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
    await logIn(page, d.url);
  });
  afterAll(async () => {
    await closeTab(tab);
    await browser?.close();
    await d?.close();
    await Promise.all(sites.map((s) => s.close()));
    await stripe?.close();
  });

  const dialog = (name: string) => page.getByRole('dialog', { name: `Doctor: ${name}` });
  /** A check's row as its cells read: "Fail stripe-health 401 … 12 ms". */
  const step = async (check: string) =>
    (await page.locator(`dialog .doctor-ladder tr[data-check="${check}"] > *`).allTextContents())
      .map((t) => t.trim())
      .join(' ');
  const isFocused = (selector: string) =>
    page.locator(selector).evaluate((el) => el === el.ownerDocument.activeElement);

  it("shows the ladder and the diagnosis of a site the dashboard's key does not open, from the keyboard", async () => {
    const button = page.getByRole('button', { name: 'Doctor locked-shop' });
    await button.focus();
    await page.keyboard.press('Enter');
    const dlg = dialog('locked-shop');
    await dlg.waitFor();
    await poll(() => textOf(page, 'dialog .doctor-status'), 15_000).toBe(
      'Doctor finished: fail (invalid_api_key).',
    );
    expect(await step('health')).toMatch(/^Pass health 200/);
    expect(await step('stripe-pk')).toMatch(/^Pass stripe-pk pk_test_…/);
    expect(await step('stripe-health')).toMatch(/^Fail stripe-health/);
    expect(await step('test-stripe')).toMatch(/^Skip test-stripe not run: stripe-health failed/);
    expect(await textOf(page, 'dialog .doctor-verdict')).toBe('Verdict: fail');
    expect(await textOf(page, 'dialog .doctor-diagnosis h3')).toBe('Diagnosis: invalid_api_key');
    expect(await textOf(page, 'dialog .doctor-diagnosis')).toContain(
      'Fix: Check TEMPLATE_MASTER_API_KEY on both sides',
    );
    expect(await textOf(page, 'dialog .doctor-curl')).toBe(
      `curl -sS -i --max-time 8 -H "X-API-Key: $SITE_API_KEY" '${urls[1]}/api/health/stripe'`,
    );
    expect(await textOf(page, 'dialog .doctor-result')).toContain("Opened with the site's own API key");
    // Focus moved to the verdict for a screen reader; the announcer said it too.
    expect(await isFocused('dialog .doctor-verdict')).toBe(true);
    expect(await textOf(page, '#announcer')).toBe('Doctor finished: fail (invalid_api_key).');
    await shot(page, '50-doctor-invalid-api-key');

    // Esc closes it and focus is back on the row's Doctor button.
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
    expect(await button.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
  });

  it('passes every check of a healthy site, and runs again on demand with the Stripe test asked for', async () => {
    await page.getByRole('button', { name: 'Doctor shop', exact: true }).click();
    const dlg = dialog('shop');
    await poll(() => textOf(page, 'dialog .doctor-status'), 15_000).toBe('Doctor finished: pass.');
    expect(await textOf(page, 'dialog .doctor-diagnosis')).toBe('Every check passed.');
    expect(await step('stripe-health')).toContain('fingerprints match');
    expect(await step('test-stripe')).toMatch(/^Skip test-stripe not requested/);
    expect(await page.locator('dialog .doctor-ladder tbody tr').count()).toBe(10);
    await shot(page, '51-doctor-pass');

    // With the Stripe test asked for, the site makes its read-only call with the stored secret.
    const calls = stripe.requests.length;
    await dlg.getByLabel(/Also test the stored secret with Stripe/).check();
    await dlg.getByRole('button', { name: 'Run again' }).click();
    await poll(() => step('test-stripe'), 15_000).toMatch(
      /^Pass test-stripe Stripe accepted the stored secret \(livemode false\)/,
    );
    expect(await textOf(page, 'dialog .doctor-status')).toBe('Doctor finished: pass.');
    expect(stripe.requests.length).toBe(calls + 1);
    await dlg.getByRole('button', { name: 'Close' }).click();
    await dlg.waitFor({ state: 'detached' });

    const audit = await d.api<{ entries: Array<{ action: string; detail: Record<string, unknown> }> }>(
      DASHBOARD_ROUTES.audit,
    );
    const doctors = audit.entries.filter((e) => e.action === 'site.doctor');
    expect(doctors.map((e) => e.detail.stripe)).toEqual([true, false, false]);
  });

  it('ran under the CSP with no console error, and no key reached the browser', () => {
    expect(unexpectedConsoleErrors(tab.consoleErrors)).toEqual([]);
    expect(tab.blocked).toEqual([]);
    const received = tab.responses.map((r) => r.body).join('\n');
    expect(received).toContain('invalid_api_key');
    for (const secret of [wrongKey, MASTER_KEY, sk, ADMIN_TOKEN]) expect(received).not.toContain(secret);
  });
});
