import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES } from '../../src/protocol/dashboard-routes.js';
import type { SiteHealth } from '../../src/store/fleet-store.js';
import { launchBrowser, openPage, type WatchedPage } from '../helpers/browser.js';
import { makeKey } from '../helpers/keys.js';
import {
  logIn,
  poll,
  shot,
  startWebDashboard,
  textOf,
  unexpectedConsoleErrors,
  type WebDashboard,
  closeTab,
} from './web-fixture.js';

const SITES = 5_000;
const IN_SYNC = 4_000;
const DRIFTED = 25;
const UNREACHABLE = 10;

/**
 * The Sites page with 5,000 sites (imported through the UI from one sites file): the server pages
 * (each request carries limit/offset and the search and filters; each answer holds one page), one
 * page of rows in the DOM at a time, paging, search, tag and status filters, the status tiles (the
 * server's counts), the keyboard, and a laptop-width layout; then the Push, run and Keys pages, which
 * ask for the fleet's counts and the few sites they show, never for every site. The sites are never
 * contacted by a verify: what one would have found is recorded in the state store, so the filters
 * have something to find.
 */
describe('the sites table with 5,000 sites', () => {
  let d: WebDashboard;
  let browser: Browser;
  let tab: WatchedPage;
  let page: Page;
  const name = (i: number) => `shop-${String(i).padStart(4, '0')}.fleet.example`;

  beforeAll(async () => {
    d = await startWebDashboard();
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
    await logIn(page, d.url);
  });
  afterAll(async () => {
    await closeTab(tab);
    await browser?.close();
    await d?.close();
  });

  const rows = () => page.locator('.sites-table tbody tr[data-site]');
  const info = () => textOf(page, '.pager-info');
  const pageInfo = () => textOf(page, '.pager-page');
  const tile = (kind: string) => textOf(page, `.tile-${kind} .tile-count`);
  const isFocused = (target: Locator) => target.evaluate((el) => el === el.ownerDocument.activeElement);
  /** Every list of sites the page fetched: the query it sent and how many sites the answer held. */
  const siteLists = () =>
    tab.responses
      .filter((r) => new URL(r.url).pathname === DASHBOARD_ROUTES.sites)
      .map((r) => ({ query: Object.fromEntries(new URL(r.url).searchParams), body: JSON.parse(r.body) }))
      .filter((r): r is { query: Record<string, string>; body: { sites: unknown[]; total: number } } =>
        Array.isArray(r.body?.sites),
      )
      .map((r) => ({ query: r.query, sites: r.body.sites.length, total: r.body.total }));
  const lastList = () => siteLists().at(-1);

  it(
    'imports 5,000 sites from one sites file through the UI, and shows the first 50',
    { timeout: 60_000 },
    async () => {
      const file = ['# a big fleet', ...Array.from({ length: SITES }, (_, i) => `https://${name(i)}`)].join(
        '\n',
      );
      await page.getByRole('button', { name: 'Import sites' }).click();
      const dialog = page.getByRole('dialog', { name: 'Import sites' });
      await dialog
        .getByLabel('File', { exact: true })
        .setInputFiles({ name: 'sites.txt', mimeType: 'text/plain', buffer: Buffer.from(file) });
      await dialog.getByLabel('Tags to add', { exact: true }).fill('eu');
      await dialog.getByRole('button', { name: 'Import' }).click();
      await poll(() => textOf(page, '.notice-area'), 45_000).toBe('Imported 5,000 sites.');
      expect(await info()).toBe('Showing 1–50 of 5,000');
      expect(await pageInfo()).toBe('Page 1 of 100');
      expect(await rows().count()).toBe(50);
      expect(await tile('all')).toBe('5,000');
      expect(await tile('unchecked')).toBe('5,000');
      // Issue 11: imported sites are offered a verify of just them, not left Unchecked until the next sweep.
      expect(await page.getByRole('button', { name: 'Verify the 5,000 unchecked sites now' }).isVisible()).toBe(true);
      // The server paged: the page asked for 50 sites and got 50, never the whole fleet.
      expect(lastList()).toEqual({
        query: { limit: '50', offset: '0', summary: 'true' },
        sites: 50,
        total: 5_000,
      });
      expect(siteLists().every((l) => l.query.limit !== undefined && l.sites <= 200)).toBe(true);
    },
  );

  it('shows each status in its colour once the sites have been checked', { timeout: 60_000 }, async () => {
    // Five more sites from a YAML inventory, with other tags.
    const yaml = [
      'sites:',
      ...[0, 1, 2, 3, 4].flatMap((i) => [
        `  - url: https://us-${i}.fleet.example`,
        '    tags: [us, production]',
      ]),
    ].join('\n');
    await d.api(DASHBOARD_ROUTES.importSites, { format: 'yaml', content: yaml });
    await d.api(DASHBOARD_ROUTES.keys, { make_default: true, publishable_key: makeKey('pk'), secret_key: makeKey('sk') });
    const { sites } = await d.api<{ sites: Array<{ id: string; url: string }> }>(DASHBOARD_ROUTES.sites);
    const checked = (over: Partial<SiteHealth>): SiteHealth => ({
      reachable: true,
      pk_as_desired: true,
      sk_as_desired: true,
      mode: 'test',
      latency_ms: 40,
      checked_at: new Date().toISOString(),
      problem: null,
      version_id: 'v1',
      ...over,
    });
    for (const [i, site] of sites.slice(0, IN_SYNC + DRIFTED + UNREACHABLE).entries()) {
      const health =
        i < IN_SYNC
          ? checked({})
          : i < IN_SYNC + DRIFTED
            ? checked({ pk_as_desired: false, problem: 'drift' })
            : checked({
                reachable: false,
                pk_as_desired: null,
                sk_as_desired: null,
                mode: null,
                latency_ms: null,
                problem: 'timeout',
              });
      await d.state.fleet.recordHealth(site.id, health);
    }
    await page.reload();
    await page.locator('.view[aria-busy="false"]').waitFor();
    expect(await tile('all')).toBe('5,005');
    expect(await tile('ok')).toBe('4,000');
    expect(await tile('drifted')).toBe('25');
    expect(await tile('unreachable')).toBe('10');
    expect(await tile('unchecked')).toBe('970');
    const first = rows().first();
    expect(await first.getAttribute('class')).toBe('row-ok');
    expect(await first.locator('.badge').first().textContent()).toBe('In sync');
    // Colour and text together: green for in sync, amber for drifted, red for unreachable.
    const colour = (l: Locator) =>
      l.evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).color);
    expect(await colour(first.locator('.badge-ok'))).toBe('rgb(27, 122, 61)');
    await shot(page, '30-sites-5000');
  });

  it('pages through 5,000 sites with one page of rows in the DOM at a time', async () => {
    const nav = page.getByRole('navigation', { name: 'Sites pages' });
    await nav.getByRole('button', { name: 'Next ›' }).click();
    await poll(info).toBe('Showing 51–100 of 5,005');
    expect(await rows().first().textContent()).toContain(name(50));
    expect(lastList()).toMatchObject({ query: { limit: '50', offset: '50' }, sites: 50, total: 5_005 });
    await nav.getByRole('button', { name: 'Last »' }).click();
    await poll(info).toBe('Showing 5,001–5,005 of 5,005');
    expect(await nav.getByRole('button', { name: 'Next ›' }).isDisabled()).toBe(true);
    expect(await rows().count()).toBe(5);
    expect(lastList()).toMatchObject({ query: { limit: '50', offset: '5000' }, sites: 5 });
    await nav.getByRole('button', { name: '« First' }).click();
    await page.getByLabel('Rows per page').selectOption('200');
    await poll(info).toBe('Showing 1–200 of 5,005');
    expect(await rows().count()).toBe(200);
    expect(await page.locator('.sites-table tbody tr').count()).toBe(200);
    expect(lastList()).toMatchObject({ query: { limit: '200', offset: '0' }, sites: 200 });
    await page.getByLabel('Rows per page').selectOption('50');
  });

  it('searches by name and filters by tag and by problem', async () => {
    const search = page.getByLabel('Search', { exact: true });
    await search.fill('shop-4321');
    await poll(info).toBe('Showing 1–1 of 1');
    expect(await rows().first().textContent()).toContain(name(4321));
    expect(lastList()).toMatchObject({
      query: { q: 'shop-4321', limit: '50', offset: '0' },
      sites: 1,
      total: 1,
    });
    await search.fill('');
    await poll(info).toBe('Showing 1–50 of 5,005');

    await page.getByLabel('Tag', { exact: true }).selectOption('us');
    await poll(info).toBe('Showing 1–5 of 5');
    expect(lastList()).toMatchObject({ query: { tag: 'us', limit: '50' }, sites: 5 });
    expect(await page.getByLabel('Tag', { exact: true }).locator('option').allTextContents()).toEqual([
      'All tags',
      'eu (5,000)',
      'production (5)',
      'us (5)',
    ]);
    await page.getByLabel('Tag', { exact: true }).selectOption('');

    await page.getByLabel('Status', { exact: true }).selectOption('unreachable');
    await poll(info).toBe('Showing 1–10 of 10');
    expect(lastList()).toMatchObject({ query: { problem: 'unreachable', limit: '50' }, sites: 10 });
    for (const text of await rows().allTextContents()) expect(text).toContain('Unreachabletimeout');
    await shot(page, '31-sites-5000-unreachable');

    await page.getByRole('button', { name: /Drifted$/ }).click();
    await poll(info).toBe('Showing 1–25 of 25');
    expect(await page.getByLabel('Status', { exact: true }).inputValue()).toBe('drift');
    expect(await page.getByRole('button', { name: /Drifted$/ }).getAttribute('aria-pressed')).toBe('true');
    // Search narrows the filtered list too.
    await search.fill('shop-4010');
    await poll(info).toBe('Showing 1–1 of 1');
    await search.fill('');
    await page.getByLabel('Status', { exact: true }).selectOption('any');
    await poll(info).toBe('Showing 1–35 of 35');
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await poll(info).toBe('Showing 1–50 of 5,005');
  });

  it('works from the keyboard and fits a laptop screen', async () => {
    const nav = page.getByRole('navigation', { name: 'Sites pages' });
    const next = nav.getByRole('button', { name: 'Next ›' });
    await next.focus();
    await page.keyboard.press('Enter');
    await poll(info).toBe('Showing 51–100 of 5,005');
    expect(await isFocused(next)).toBe(true);
    await page.keyboard.press('Tab');
    expect(await isFocused(nav.getByRole('button', { name: 'Last »' }))).toBe(true);
    await page.keyboard.press('Enter');
    await poll(pageInfo).toBe('Page 101 of 101');
    // "Last" is now disabled: focus moves to "Previous" instead of falling to <body>.
    expect(await isFocused(nav.getByRole('button', { name: '‹ Previous' }))).toBe(true);
    await page.keyboard.press('Enter');
    await poll(pageInfo).toBe('Page 100 of 101');

    // Every control in a row has a name that says which site it acts on.
    const row = rows().first();
    const siteName = (await row.locator('.site-name').textContent()) ?? '';
    expect(await row.getByRole('checkbox').getAttribute('aria-label')).toBe(`Select ${siteName}`);
    expect(await row.getByRole('button', { name: `Edit ${siteName}` }).count()).toBe(1);
    // Space ticks a row; the push button counts it.
    await row.getByRole('checkbox').focus();
    await page.keyboard.press('Space');
    expect(await page.getByRole('button', { name: 'Push to 1 selected site' }).isEnabled()).toBe(true);

    const width = await page.locator('html').evaluate((el) => [el.scrollWidth, el.clientWidth]);
    expect(width[0]).toBeLessThanOrEqual(width[1]!);
    await shot(page, '32-sites-5000-keyboard');
    expect(tab.blocked).toEqual([]);
    expect(unexpectedConsoleErrors(tab.consoleErrors)).toEqual([]);
  });

  it(
    'opens Push, a run and Keys without listing the fleet: counts from the summary, sites by ref',
    { timeout: 30_000 },
    async () => {
      const h1 = async () => ((await page.getByRole('heading', { level: 1 }).textContent()) ?? '').trim();
      const since = tab.responses.length;
      /** The sites requests made since this test began, as their query strings. */
      const sitesQueries = () =>
        tab.responses
          .slice(since)
          .map((r) => new URL(r.url))
          .filter((u) => u.pathname === DASHBOARD_ROUTES.sites)
          .map((u) => Object.fromEntries(u.searchParams));
      const picked = name(4950);

      // The site ticked above: the Push view names it (fetched by id) and counts the fleet (summary).
      await page.getByRole('button', { name: 'Push to 1 selected site' }).click();
      await poll(h1).toBe('Push keys');
      await page.locator('.view[aria-busy="false"]').waitFor();
      expect(await page.getByLabel('Sites to push to', { exact: true }).inputValue()).toBe(picked);
      expect(await page.getByRole('radio', { name: 'All sites (5,005)' }).count()).toBe(1);
      expect((await page.locator('.tag-choice').allTextContents()).map((t) => t.trim())).toEqual([
        'eu 5,000',
        'production 5',
        'us 5',
      ]);
      await shot(page, '33-push-5000');

      // A preview over that site: the run page names its site from the run's own list of URLs.
      await page.getByRole('button', { name: 'Preview changes' }).click();
      await poll(h1).toMatch(/^Preview/);
      await poll(() => textOf(page, '.recap h2'), 15_000).toBe('Preview ready: 1 site could not be checked');
      const row = page.locator('.run-table tbody tr');
      expect(await row.count()).toBe(1);
      expect(await row.locator('.site-name').textContent()).toBe(picked);
      expect(await row.getAttribute('data-url')).toBe(`https://${picked}`);
      await shot(page, '34-run-5000');

      // Keys: one card per key of v1, both wanted by every site, counted by the server.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Keys' }).click();
      await poll(h1).toBe('Key vault');
      await page.locator('.view[aria-busy="false"]').waitFor();
      expect(await page.locator('.safe.safe-in-use').count()).toBe(2);
      expect(await textOf(page, '.safe.safe-in-use p')).toBe(
        '5,005 sites should hold it. Rolling it in Stripe would break checkout on 5,005 sites.',
      );
      await shot(page, '35-keys-5000');

      // Every sites request carried a limit: the fleet's counts, or the few sites shown by ref.
      const queries = sitesQueries();
      for (const q of queries) expect(q.limit, JSON.stringify(q)).toMatch(/^\d+$/);
      expect(queries).toContainEqual({ ref: `https://${picked}`, limit: '1' });
      // The Push page's counts; Keys asks the per-key roll counts instead (GET /api/admin/keys/roll).
      expect(queries.filter((q) => q.summary === 'true' && q.limit === '1')).toHaveLength(1);
      expect(queries.filter((q) => q.ref !== undefined && q.ref !== `https://${picked}`)).toEqual([
        { ref: expect.stringMatching(/^s_/), limit: '1' },
      ]);
      expect(siteLists().every((l) => l.query.limit !== undefined && l.sites <= 200)).toBe(true);
      expect(tab.blocked).toEqual([]);
      expect(unexpectedConsoleErrors(tab.consoleErrors)).toEqual([]);
    },
  );
});
