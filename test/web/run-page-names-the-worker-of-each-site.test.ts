import { hostname } from 'node:os';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES } from '../../src/protocol/dashboard-routes.js';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { launchBrowser, openPage, type WatchedPage } from '../helpers/browser.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { closeTab, logIn, poll, startWebDashboard, type WebDashboard } from './web-fixture.js';

/**
 * Issue 14, point 2: a run's page names, under each site, the process that worked it (the per-site
 * result's `worker`: KEYFLEET_WORKER_NAME, else host:pid — here this test process, which runs the
 * dashboard). Debian's Chromium.
 */
describe("a run's page names each site's worker", () => {
  let site: FakeSiteServer;
  let d: WebDashboard;
  let browser: Browser;
  let tab: WatchedPage | undefined;

  beforeAll(async () => {
    site = await startFakeSite({ apiKey: MASTER_KEY, publishableKey: null });
    d = await startWebDashboard();
    await d.api(DASHBOARD_ROUTES.keys, { make_default: true, publishable_key: makeKey('pk'), secret_key: makeKey('sk') });
    await d.api(DASHBOARD_ROUTES.sites, { url: site.url, name: 'shop' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await closeTab(tab);
    await browser?.close();
    await d?.close();
    await site?.close();
  });

  it('shows the worker under the site, as the API gives it', { timeout: 60_000 }, async () => {
    const started = await d.api<{ run_id: string }>('/api/admin/runs', { canary: 0 });
    await poll(async () => (await d.api<{ state: string }>(`/api/admin/runs/${started.run_id}`)).state).toBe(
      'done',
    );
    const run = await d.api<{ sites: Array<{ url: string; status: string; worker: string | null }> }>(
      `/api/admin/runs/${started.run_id}`,
    );
    const worker = `${hostname()}:${process.pid}`;
    expect(run.sites).toEqual([expect.objectContaining({ status: 'ok', worker })]);

    tab = await openPage(browser);
    await logIn(tab.page, d.url);
    await tab.page.goto(`${d.url}/#/runs/${encodeURIComponent(started.run_id)}`);
    const cell = tab.page.locator('tr.result-ok .site-worker');
    await cell.waitFor();
    expect((await cell.textContent())?.trim()).toBe(worker);
  });
});
