import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES } from '../../src/protocol/dashboard-routes.js';
import { launchBrowser, openPage, type WatchedPage } from '../helpers/browser.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { startSeedSite, type SeedSite } from '../seed-site/seed-site.js';
import { ADMIN_TOKEN, closeTab, logIn, poll, shot, startWebDashboard, textOf, unexpectedConsoleErrors, type WebDashboard } from './web-fixture.js';

/**
 * Issue 9 in Chromium: a run that pushed a site of the original template shows it on the site's row
 * ("seed template", the secret written but unverifiable) and says once that such sites use a pushed
 * secret only after a restart. No key in anything the browser received.
 */
describe('an operator sees a seed site in a run', () => {
  let seed: SeedSite;
  let d: WebDashboard;
  let browser: Browser;
  let tab: WatchedPage;
  let page: Page;
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  let runId = '';

  beforeAll(async () => {
    seed = await startSeedSite({ masterKey: MASTER_KEY, workers: 1 });
    d = await startWebDashboard();
    await d.api(DASHBOARD_ROUTES.keys, { make_default: true, publishable_key: pk, secret_key: sk });
    await d.api(DASHBOARD_ROUTES.sites, { url: seed.url, name: 'gallery' });
    runId = (await d.api<{ run_id: string }>(DASHBOARD_ROUTES.runs, { dry_run: false })).run_id;
    // The run's event stream ends when the run does.
    await fetch(`${d.url}${DASHBOARD_ROUTES.runs}/${runId}/events`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then((r) => r.text());
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
    await logIn(page, d.url);
  });
  afterAll(async () => {
    await closeTab(tab);
    await browser?.close();
    await d?.close();
    await seed?.close();
  });

  it("shows the site's protocol, what it cannot prove, and the restart note", async () => {
    await page.goto(`${d.url}/#/runs/${runId}`);
    await page.locator(`tr[data-url="${seed.url}"]`).waitFor();
    const row = await textOf(page, `tr[data-url="${seed.url}"]`);
    expect(row).toContain('seed template');
    expect(row).toContain('sk written, unverifiable');
    await poll(() => page.locator('dd').allTextContents().then((t) => t.join(' ')), 10_000).toContain('restart');
    await shot(page, '60-run-with-a-seed-site');
    expect(unexpectedConsoleErrors(tab.consoleErrors)).toEqual([]);
    expect(tab.responses.map((r) => r.body).join('\n')).not.toContain(sk);
  });
});
