import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { refusedPort } from '../fault-fleet/index.js';
import { launchBrowser, openPage, type WatchedPage } from '../helpers/browser.js';
import { makeKey } from '../helpers/keys.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { startHeldSite } from './held-site.js';
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

type Fleet = Awaited<ReturnType<typeof startTemplateFleet>>;
type Held = Awaited<ReturnType<typeof startHeldSite>>;

const DEAD = 4_995;

/**
 * Issue 11 as reported, in Chromium, with 5,000 sites: 5 real template sites (the first behind a
 * relay that can hold its writes) and 4,995 loopback addresses that refuse connections. Each step
 * is one of the points: the safe-to-roll advice after a tag-only rollout, a preview that
 * checks every site and can be confirmed for the five that passed, the run page that leads with
 * "Completed with failures" and one `connection_refused × 4,995` group, and a run cancelled and
 * resumed from the page.
 */
describe('the console at 5,000 sites tells the truth first', () => {
  let fleet: Fleet;
  let held: Held;
  let d: WebDashboard;
  let browser: Browser;
  let tab: WatchedPage;
  let page: Page;
  const v1 = { publishable_key: makeKey('pk'), secret_key: makeKey('sk') };
  const v2 = { publishable_key: makeKey('pk'), secret_key: makeKey('sk') };
  const masked = (key: string) => `${key.slice(0, 8)}…${key.slice(-4)}`;
  let realUrls: string[] = [];

  const h1 = async () => ((await page.getByRole('heading', { level: 1 }).textContent()) ?? '').trim();
  const recap = () => textOf(page, '.recap h2');
  const runToEnd = async (body: unknown) => {
    const { run_id } = await d.api<{ run_id: string }>(DASHBOARD_ROUTES.runs, body);
    // The event stream ends with the run: read to its end.
    const res = await fetch(`${d.url}${dashboardPath(DASHBOARD_ROUTES.runEvents, { id: run_id })}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(await res.text()).toContain('event: end');
    return run_id;
  };
  const openRun = async (id: string) => {
    await page.goto(`${d.url}/#/runs/${encodeURIComponent(id)}`);
    await page.locator('.view[aria-busy="false"]').waitFor();
  };

  beforeAll(async () => {
    fleet = await startTemplateFleet(5);
    held = await startHeldSite(fleet.urls[0]!);
    realUrls = [held.url, ...fleet.urls.slice(1)];
    const port = await refusedPort();
    d = await startWebDashboard({ env: { KEYFLEET_CONCURRENCY: '64' } });
    // The five real sites first (two tagged pilot), then 4,995 that refuse connections.
    const yaml = ['sites:', ...realUrls.flatMap((url, i) => [`  - url: ${url}`, `    tags: [${i < 2 ? 'pilot' : 'main'}]`])];
    await d.api(DASHBOARD_ROUTES.importSites, { format: 'yaml', content: yaml.join('\n') });
    const dead = Array.from({ length: DEAD }, (_, i) => `http://127.1.${i >> 7}.${(i & 127) + 1}:${port}`);
    await d.api(DASHBOARD_ROUTES.importSites, { format: 'seed', content: dead.join('\n') });
    await d.api(DASHBOARD_ROUTES.keys, { ...v1, make_default: true });
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
    await page.route('**/api/admin/runs/*/events', (route) => route.continue());
    await logIn(page, d.url);
  }, 120_000);
  afterAll(async () => {
    await closeTab(tab);
    await browser?.close();
    await d?.close();
    await held?.close();
    await fleet?.close();
  });

  it('after v2 went to the pilot tag only, v1 keys show as in use, never as safe to roll', { timeout: 120_000 }, async () => {
    await runToEnd({ sites: realUrls, canary: 0 });
    await d.api(DASHBOARD_ROUTES.keys, { make_default: true, ...v2, tag: 'pilot' });
    await runToEnd({ tags: ['pilot'], canary: 0 });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Keys' }).click();
    await poll(h1).toBe('Key vault');
    await page.locator('.view[aria-busy="false"]').waitFor();
    const oldSk = `.safe[data-key="secret_key:${fingerprint(v1.secret_key)}"]`;
    expect(await textOf(page, `${oldSk} strong`)).toBe(
      `In use: do not roll the secret key ${masked(v1.secret_key)} (fp ${fingerprint(v1.secret_key)}, v1).`,
    );
    expect(await textOf(page, `${oldSk} p`)).toBe(
      '4,998 sites should hold it and 3 sites were last seen holding it. Rolling it in Stripe would break checkout on 4,998 sites.',
    );
    // No card anywhere says any key can be rolled.
    expect(await page.locator('.safe.safe-yes').count()).toBe(0);
    await shot(page, '40-keys-tag-rollout');
  });

  it('a preview checks all 5,000 sites with the default budget and is confirmed for the 5 that passed', { timeout: 120_000 }, async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Push' }).click();
    await poll(h1).toBe('Push keys');
    await page.locator('.view[aria-busy="false"]').waitFor();
    expect(await page.getByLabel('Max failures').inputValue()).toBe('10%');
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await poll(h1).toMatch(/^Preview/);
    await poll(recap, 90_000).toBe('Preview ready: 4,995 sites could not be checked');
    expect(await textOf(page, '.counts')).toMatch(/^5,000 of 5,000 sites done — 0 would change, 5 up to date, 4,995 failed/);
    expect(await textOf(page, '.failure-groups li')).toMatch(/^connection_refused × 4,995\s*Fix: /);
    expect(await page.locator('.failure-groups li').count()).toBe(1);
    const body = (await page.locator('main').textContent()) ?? '';
    expect(body).not.toContain('--max-failures');
    await shot(page, '41-preview-5000');

    await page.getByRole('button', { name: /^Confirm… \(5 sites passed, 4,995 failed\)/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm the push' });
    const said = ((await dialog.textContent()) ?? '').replace(/\s+/g, ' ');
    expect(said).toContain('Scope5,000 sites: every site');
    expect(said).toContain('Key versionv1');
    expect(said).toContain('KeysTest mode');
    expect(said).toContain('4,995 could not be checked (connection_refused × 4,995)');
    expect(await dialog.getByRole('radio', { name: /Only the 5 sites that passed/ }).isChecked()).toBe(true);
    expect(await dialog.getByLabel('Stop after this many failures').inputValue()).toBe('10%');
    await dialog.getByRole('radio', { name: /All 5,000 sites/ }).check();
    await poll(() => textOf(page, 'dialog .warn-text')).toMatch(/^The 4,995 sites the preview could not check will most likely fail again/);
    await dialog.getByRole('radio', { name: /Only the 5 sites that passed/ }).check();
    await shot(page, '42-confirm-dialog');
    const preview = page.url();
    await dialog.getByRole('button', { name: 'Push to 5 sites' }).click();
    await poll(() => page.url()).not.toBe(preview);
    await poll(recap, 30_000).toBe('Done');
    expect(await textOf(page, '.counts')).toBe('5 of 5 sites done — 0 updated, 5 unchanged, 0 failed');
  });

  it('a push over everything leads with "Completed with failures" and one connection_refused group', { timeout: 120_000 }, async () => {
    const id = await runToEnd({ canary: 0, max_failures: '100%' });
    await openRun(id);
    expect(await recap()).toBe('Completed with failures');
    expect(await page.locator('.recap .notice-bad').count()).toBe(1);
    expect(await textOf(page, '.failure-groups li .failure-title')).toBe('connection_refused × 4,995');
    // The first screen: outcome and the group are above the fold at 1280×800.
    const groupBox = await page.locator('.failure-groups li').first().boundingBox();
    expect(groupBox && groupBox.y < 800).toBe(true);
    // The bar: unchanged and failed segments, no green over the whole bar.
    expect(await page.locator('.seg-failed').isVisible()).toBe(true);
    expect(await page.locator('.seg-ok').isVisible()).toBe(false);
    const csv = page.getByRole('link', { name: 'Export 4,995 sites (CSV)' });
    expect(await csv.getAttribute('href')).toBe(`${dashboardPath(DASHBOARD_ROUTES.runExport, { id })}?code=connection_refused`);
    await shot(page, '43-run-completed-with-failures');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History' }).click();
    await poll(h1).toBe('History');
    await page.locator('.view[aria-busy="false"]').waitFor();
    expect(await page.locator(`.runs-table tbody tr[data-run="${id}"]`).textContent()).toContain('Completed with failures');
  });

  it('a running push is cancelled from its page, then resumed', { timeout: 120_000 }, async () => {
    // A new key for the pilot sites: the held relay's site is the canary, and its write waits.
    await d.api(DASHBOARD_ROUTES.keys, { make_default: true, secret_key: makeKey('sk'), tag: 'pilot' });
    held.hold();
    const { run_id } = await d.api<{ run_id: string }>(DASHBOARD_ROUTES.runs, { sites: realUrls, canary: 1 });
    await openRun(run_id);
    await held.waitForHeld();
    await page.getByRole('button', { name: 'Cancel run' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this run?' });
    expect(await dialog.textContent()).toContain('Sites being pushed right now finish');
    await dialog.getByRole('button', { name: 'Cancel run' }).click();
    await poll(() => textOf(page, '.counts')).toMatch(/^Cancelling: no new site starts/);
    held.release();
    await poll(recap, 30_000).toBe('Cancelled');
    await shot(page, '44-run-cancelled');
    await page.getByRole('button', { name: 'Resume run' }).click();
    await poll(recap, 30_000).toBe('Done');
    expect(await textOf(page, '.counts')).toMatch(/^5 of 5 sites done/);
    expect(unexpectedConsoleErrors(tab.consoleErrors)).toEqual([]);
    expect(tab.blocked).toEqual([]);
  });

  it('at 390 px (a phone): nav and Log out fit, Status and State show, Push stacks, nothing overflows', { timeout: 120_000 }, async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const inView = async (selector: string) => {
      const box = await page.locator(selector).first().boundingBox();
      return box !== null && box.x >= 0 && box.x + box.width <= 390;
    };
    const overflow = () => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    const visit = async (hash: string, heading: RegExp) => {
      await page.goto(`${d.url}/#/${hash}`);
      await poll(h1).toMatch(heading);
      await page.locator('.view[aria-busy="false"]').waitFor();
    };
    const runs = await d.api<{ runs: Array<{ id: string }> }>(DASHBOARD_ROUTES.runs);
    const pages: Array<[string, RegExp, string[]]> = [
      ['sites', /^Sites$/, ['.sites-table tbody tr[data-site] .badge']],
      ['keys', /^Key vault$/, ['.safe']],
      ['push', /^Push keys$/, ['button[type="submit"].primary']],
      [`runs/${runs.runs[1]!.id}`, /^Push/, ['.recap h2', '.failure-groups li', '.run-table tbody tr .badge']],
      ['history', /^History$/, ['.runs-table tbody tr .badge']],
    ];
    for (const [hash, heading, shown] of pages) {
      await visit(hash, heading);
      expect(await overflow(), `${hash} scrolls sideways`).toBeLessThanOrEqual(0);
      for (const link of ['Sites', 'Keys', 'Push', 'History'])
        expect(await inView(`nav[aria-label="Main"] a[data-nav="${link.toLowerCase()}"]`), `${hash}: nav ${link}`).toBe(true);
      expect(await inView('#logout'), `${hash}: Log out`).toBe(true);
      for (const selector of shown) expect(await inView(selector), `${hash}: ${selector}`).toBe(true);
      await shot(page, `45-phone-${hash.split('/')[0]}`);
    }
    // The Push page's two columns stack: the second starts below the first, at the same left edge.
    await visit('push', /^Push keys$/);
    const [form, open] = await page.locator('.columns > *').all();
    const [a, b] = [await form!.boundingBox(), await open!.boundingBox()];
    expect(b!.y).toBeGreaterThanOrEqual(a!.y + a!.height);
    expect(Math.abs(b!.x - a!.x)).toBeLessThan(1);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('the Sites page pages from the top too, sorts problems first, and its tiles follow the tag filter', { timeout: 60_000 }, async () => {
    await page.goto(`${d.url}/#/sites`);
    await poll(h1).toBe('Sites');
    await page.locator('.view[aria-busy="false"]').waitFor();
    expect(await textOf(page, '.tile-all .tile-count')).toBe('5,000');
    expect(await textOf(page, '.pager-top .pager-top-page')).toBe('Page 1 of 100');
    await page.getByRole('button', { name: 'Next page (top)' }).click();
    await poll(() => textOf(page, '.pager-top .pager-top-page')).toBe('Page 2 of 100');
    expect(await textOf(page, '.pager-info')).toBe('Showing 51–100 of 5,000');
    // In added order the five real (in sync) sites come first; problems first puts them last.
    await page.getByLabel('Sort', { exact: true }).selectOption('problems');
    await poll(() => textOf(page, '.pager-info')).toBe('Showing 1–50 of 5,000');
    expect(await page.locator('.sites-table tbody tr[data-site]').first().getAttribute('class')).toBe('row-unreachable');
    await page.getByLabel('Sort', { exact: true }).selectOption('added');
    await page.getByLabel('Tag', { exact: true }).selectOption('pilot');
    await poll(() => textOf(page, '.tile-all .tile-count')).toBe('2');
    expect(await textOf(page, '.tile-unreachable .tile-count')).toBe('0');
    expect(await page.locator('.pager-top').isHidden()).toBe(true);
    await page.getByLabel('Tag', { exact: true }).selectOption('');
    await poll(() => textOf(page, '.tile-all .tile-count')).toBe('5,000');
  });

  it('a verify sweep shows its progress as it goes, and says every count at the end', { timeout: 120_000 }, async () => {
    await page.goto(`${d.url}/#/sites`);
    await poll(h1).toBe('Sites');
    await page.locator('.view[aria-busy="false"]').waitFor();
    // The first site's reads wait: the sweep is held there while the page shows how far it got.
    held.holdAll();
    await page.getByRole('button', { name: 'Verify now' }).click();
    await held.waitForHeld();
    await poll(() => textOf(page, '.verify-info'), 60_000).toMatch(
      /^Verifying: 4,999 of 5,000 sites done — 0 drifted, 4,995 unreachable so far…/,
    );
    await shot(page, '47-verify-in-progress');
    held.release();
    await poll(() => textOf(page, '.notice-area'), 60_000).toBe(
      'Verify finished: 5,000 sites checked: 5 in sync, 0 drifted, 4,995 unreachable.',
    );
    expect(await page.locator('.notice-area .notice-warn').count()).toBe(1);
  });

  it('bulk actions cover all 4,995 unreachable sites, not the 50 on screen: tag, then remove', { timeout: 180_000 }, async () => {
    await page.goto(`${d.url}/#/sites`);
    await poll(h1).toBe('Sites');
    await page.locator('.view[aria-busy="false"]').waitFor();
    await page.getByLabel('Status', { exact: true }).selectOption('unreachable');
    await poll(() => textOf(page, '.bulk-label')).toBe('All 4,995 matching:');
    expect(await page.getByRole('link', { name: 'Export (CSV)' }).getAttribute('href')).toBe(
      `${DASHBOARD_ROUTES.exportSites}?problem=unreachable`,
    );
    expect(await page.getByRole('button', { name: 'Preview a push to all 4,995 matching sites' }).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Tag all 4,995 matching sites', exact: true }).click();
    const tag = page.getByRole('dialog', { name: 'Tag all 4,995 matching sites' });
    await tag.getByLabel('Tags').fill('dead');
    await tag.getByRole('button', { name: 'Add tags' }).click();
    await poll(() => textOf(page, '.notice-area'), 60_000).toBe('Done on 4,995 sites: tagged × 4,995.');
    expect(await page.getByLabel('Tag', { exact: true }).locator('option', { hasText: 'dead' }).textContent()).toBe('dead (4,995)');

    await page.getByRole('button', { name: 'Remove all 4,995 matching sites' }).click();
    const remove = page.getByRole('dialog', { name: 'Remove all 4,995 matching sites?' });
    await remove.getByLabel('Type 4995 to confirm').fill('499');
    await remove.getByRole('button', { name: 'Remove 4,995 sites' }).click();
    expect(await remove.getByRole('alert').textContent()).toBe('Type 4995 to remove them.');
    await remove.getByLabel('Type 4995 to confirm').fill('4995');
    await remove.getByRole('button', { name: 'Remove 4,995 sites' }).click();
    await poll(() => textOf(page, '.notice-area'), 120_000).toBe('Done on 4,995 sites: removed × 4,995.');
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await poll(() => textOf(page, '.tile-all .tile-count')).toBe('5');
    await shot(page, '46-bulk-removed');
  });
});
