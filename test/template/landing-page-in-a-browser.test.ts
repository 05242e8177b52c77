import type { AddressInfo } from 'node:net';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { settingPath } from '../../src/protocol/routes.js';
import { startFakeStripe, type FakeStripe } from '../fake-stripe/server.js';
import {
  launchBrowser,
  openPage,
  saveScreenshot,
  type ResponseSeen,
  type WatchedPage,
} from '../helpers/browser.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';

/**
 * The template's landing page (src/template/page) in Debian's Chromium, against a real site on a
 * loopback port and the fake Stripe. The tests run in order on one site: the first sees it before any
 * key is pushed; the last checks every response the browser received across the file for the secret.
 */
describe('the landing page in a real browser', () => {
  const secret = makeKey('sk', 'test');
  const shot = (page: Page, state: string) => saveScreenshot(page, `landing-page/${state}`);
  let stripe: FakeStripe;
  let site: TestSite;
  let browser: Browser;
  let siteUrl: string;
  let tab: WatchedPage;
  const seen: ResponseSeen[] = [];

  beforeAll(async () => {
    stripe = await startFakeStripe();
    site = await startTestSite({ config: { stripeApiBase: stripe.url, stripeTimeoutMs: 2_000 } });
    await site.app.listen({ port: 0, host: '127.0.0.1' });
    siteUrl = `http://127.0.0.1:${(site.app.server.address() as AddressInfo).port}/`;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await stripe?.close();
  });
  beforeEach(async () => {
    tab = await openPage(browser);
  });
  afterEach(async () => {
    seen.push(...tab.responses);
    await tab.close();
    expect(tab.blocked, 'requests that tried to leave the machine').toEqual([]);
  });

  const push = async (name: string, value: string) => {
    const res = await site.app.inject({
      method: 'PUT',
      url: settingPath(name),
      headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' },
      payload: JSON.stringify({ value }),
    });
    expect(res.statusCode, res.body).toBe(200);
  };
  const mode = (page: Page) => page.locator('#mode').textContent();
  const alert = (page: Page) => page.getByRole('alert').textContent();
  const submit = (page: Page) => page.getByRole('button', { name: 'Continue to payment' });
  // Browser-side callbacks reach the DOM through the element: tsconfig has no DOM lib for tests.
  const isFocused = (target: Locator) => target.evaluate((el) => el === el.ownerDocument.activeElement);
  /** Opens the page and waits until site.js has read the publishable key (the mode badge settles). */
  const open = async (page: Page, expected: string) => {
    const response = await page.goto(siteUrl);
    await expect.poll(() => mode(page), { timeout: 5_000 }).toBe(expected);
    return response;
  };

  it('before any key: shows "Not configured", says why, and keeps the button disabled', async () => {
    const { page } = tab;
    await open(page, 'Not configured');
    expect(await submit(page).isDisabled()).toBe(true);
    expect(await alert(page)).toBe('No publishable key is configured on this site.');
    await shot(page, '1-not-configured');
    // The browser logs the 404 of /api/stripe-pk itself; nothing else may appear.
    expect(tab.consoleErrors).toEqual([
      { text: expect.stringContaining('404'), url: `${siteUrl}api/stripe-pk` },
    ]);
  });

  it('after a pk is pushed: "Test mode" for pk_test, "Live mode" for pk_live, button enabled', async () => {
    const { page } = tab;
    await push('stripe_secret_key', secret);
    await push('stripe_publishable_key', makeKey('pk', 'test'));
    await open(page, 'Test mode');
    expect(await submit(page).isEnabled()).toBe(true);
    expect(await alert(page)).toBe('');
    await shot(page, '2-test-mode');

    await push('stripe_publishable_key', makeKey('pk', 'live'));
    await page.reload();
    await expect.poll(() => mode(page)).toBe('Live mode');
    expect(await submit(page).isEnabled()).toBe(true);
    await shot(page, '3-live-mode');
    expect(tab.consoleErrors).toEqual([]);
  });

  it('submitting the form goes to the checkout_url the site returned, with the form in the metadata', async () => {
    const { page } = tab;
    await push('stripe_publishable_key', makeKey('pk', 'test'));
    // Stripe's hosted page is answered here: nothing leaves the machine.
    await page.route('https://checkout.stripe.com/**', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><title>Checkout stub</title><h1>Stripe Checkout (stub)</h1>',
      }),
    );
    await open(page, 'Test mode');
    await page.getByLabel('Domain').fill('shop.example.fr');
    await page.getByLabel('Email').fill('owner@example.fr');
    await page.getByLabel('Plan').selectOption('premium');
    await shot(page, '4-form-filled');
    const before = stripe.sessions.length;

    await submit(page).click();
    await page.waitForURL('https://checkout.stripe.com/**');

    const launched = tab.responses.find((r) => r.url === `${siteUrl}saas_launch_site`);
    expect(launched?.status).toBe(200);
    const body = JSON.parse(launched?.body ?? '{}') as {
      success: boolean;
      checkout_url: string;
      session_id: string;
    };
    expect(body.success).toBe(true);
    expect(page.url()).toBe(body.checkout_url);
    expect(await page.title()).toBe('Checkout stub');
    expect(stripe.sessions).toHaveLength(before + 1);
    const session = stripe.sessions.at(-1)!;
    expect(session.id).toBe(body.session_id);
    expect(session.url).toBe(body.checkout_url);
    expect(session.metadata).toEqual({
      domain: 'shop.example.fr',
      email: 'owner@example.fr',
      type: 'premium',
    });
    await shot(page, '5-checkout-stub');
    expect(tab.consoleErrors).toEqual([]);
  });

  it("a bad email shows the site's message, re-enables the button and does not navigate", async () => {
    const { page } = tab;
    await open(page, 'Test mode');
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    await page.getByLabel('Domain').fill('shop.example.fr');
    await page.getByLabel('Email').fill('owner-at-example.fr');
    const before = stripe.sessions.length;

    const answered = page.waitForResponse((r) => r.url() === `${siteUrl}saas_launch_site`);
    await submit(page).click();
    const res = await answered;
    const body = (await res.json()) as { error: string; message: string };
    expect(res.status()).toBe(400);
    expect(body.error).toBe('invalid_request');
    expect(body.message).toMatch(/email/i);
    await expect.poll(() => alert(page)).toBe(body.message);
    await expect.poll(() => submit(page).isEnabled()).toBe(true);

    expect(page.url()).toBe(siteUrl);
    expect(navigations).toBe(0);
    expect(stripe.sessions).toHaveLength(before);
    await shot(page, '6-bad-email');
    expect(tab.consoleErrors).toEqual([
      { text: expect.stringContaining('400'), url: `${siteUrl}saas_launch_site` },
    ]);
  });

  it('keyboard only: Tab reaches domain, email, plan and the button in order; focus survives a refused submit', async () => {
    const { page } = tab;
    await open(page, 'Test mode');
    const steps = [
      { target: page.getByRole('textbox', { name: 'Domain' }), type: 'shop.example.fr' },
      { target: page.getByRole('textbox', { name: 'Email' }), type: 'owner-at-example.fr' },
      { target: page.getByRole('combobox', { name: 'Plan' }), type: '' },
      { target: submit(page), type: '' },
    ];
    for (const [i, step] of steps.entries()) {
      await page.keyboard.press('Tab');
      expect(await isFocused(step.target), `Tab #${i + 1} should focus ${String(step.target)}`).toBe(true);
      if (step.type) await page.keyboard.type(step.type);
    }
    await shot(page, '7-keyboard-focus-on-button');

    // The button is disabled while the request runs, which drops focus; the page must give it back.
    await page.keyboard.press('Enter');
    await expect.poll(() => alert(page)).toMatch(/email/i);
    await expect.poll(() => isFocused(submit(page))).toBe(true);
    expect(tab.consoleErrors).toEqual([
      { text: expect.stringContaining('400'), url: `${siteUrl}saas_launch_site` },
    ]);
  });

  it("works under the site's Content-Security-Policy without a single violation", async () => {
    const { page } = tab;
    const response = await open(page, 'Test mode'); // site.js ran: the badge is its doing
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/script-src 'self'/);
    // The stylesheet applied too (main's max-width is 28rem).
    expect(
      await page
        .locator('main')
        .evaluate((el) => el.ownerDocument.defaultView?.getComputedStyle(el).maxWidth),
    ).toBe('448px');
    expect(tab.consoleErrors).toEqual([]);
    await shot(page, '8-under-csp');

    // The collector does see a violation: an inline script is refused and reported.
    const ran = await page.locator('body').evaluate((body) => {
      const s = body.ownerDocument.createElement('script');
      s.textContent = 'document.body.dataset.inline = "ran"';
      body.append(s);
      return body.dataset.inline ?? 'blocked';
    });
    expect(ran).toBe('blocked');
    await expect
      .poll(() => tab.consoleErrors.map((e) => e.text).join('\n'))
      .toMatch(/Content Security Policy/);
  });

  it('no response the browser received, in any test above, carries the secret key', () => {
    const urls = seen.map((r) => r.url);
    expect(urls).toContain(`${siteUrl}api/stripe-pk`);
    expect(urls).toContain(`${siteUrl}saas_launch_site`);
    expect(urls).toContain(`${siteUrl}assets/site.js`);
    const random = secret.slice('sk_test_'.length);
    expect(seen.filter((r) => r.body.includes(random)).map((r) => r.url)).toEqual([]);
  });
});
