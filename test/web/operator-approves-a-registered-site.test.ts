import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES } from '../../src/protocol/dashboard-routes.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { API_KEY_HEADER, ROUTES } from '../../src/protocol/routes.js';
import { launchBrowser, openPage, type WatchedPage } from '../helpers/browser.js';
import { makeKey } from '../helpers/keys.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { closeTab, logIn, poll, shot, startWebDashboard, unexpectedConsoleErrors, type WebDashboard } from './web-fixture.js';

/**
 * Issue 12 in Debian's Chromium: a site that registered itself shows "pending approval" and holds
 * nothing; the operator's Approve button lets the dashboard push it its desired keys at once.
 */
describe('an operator approves a registered site', () => {
  const siteKey = `own-${randomBytes(20).toString('hex')}`;
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  let site: TestSite;
  let d: WebDashboard;
  let browser: Browser;
  let tab: WatchedPage;
  let page: Page;
  const held = async () =>
    (await site.app.inject({ url: ROUTES.healthStripe, headers: { [API_KEY_HEADER]: siteKey } })).json().keys;

  beforeAll(async () => {
    site = await startTestSite({ config: { masterKeys: [siteKey] } });
    await site.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(site.app.server.address() as AddressInfo).port}`;
    d = await startWebDashboard();
    await d.api(DASHBOARD_ROUTES.keys, { make_default: true, publishable_key: pk, secret_key: sk });
    // As POST /api/sites/register leaves a site from a host not on the allow-list.
    await d.state.fleet.addSite({
      url,
      name: 'joined',
      tags: [],
      apiKey: siteKey,
      source: 'register',
      addedBy: 'register',
      approval: 'pending',
    });
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
    await logIn(page, d.url);
  });
  afterAll(async () => {
    await closeTab(tab);
    await browser?.close();
    await d?.close();
    await site?.close();
  });

  it('shows the site pending with an Approve button; approving it pushes the keys', async () => {
    const row = page.locator('tr[data-site]', { hasText: 'joined' });
    await row.getByText('pending approval').waitFor();
    // A push to every site leaves it out: nothing reaches it before the approval.
    await expect(d.api(DASHBOARD_ROUTES.runs, {})).rejects.toThrow(/no_sites_selected/);
    expect((await held()).stripe_secret_key).toBeNull();
    await shot(page, '60-site-pending-approval');

    await page.getByRole('button', { name: 'Approve joined' }).click();
    await poll(() => row.getByText('pending approval').count()).toBe(0);
    await poll(async () => (await held()).stripe_secret_key?.fingerprint, 15_000).toBe(fingerprint(sk));
    expect((await d.api<{ sites: Array<{ approval: string; approved_by: string }> }>(DASHBOARD_ROUTES.sites)).sites[0]).toMatchObject({
      approval: 'approved',
      approved_by: 'admin',
    });
    expect(await page.getByRole('button', { name: 'Approve joined' }).count()).toBe(0);
    expect(unexpectedConsoleErrors(tab.consoleErrors)).toEqual([]);
  });
});
