import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { spawnDashboard } from '../dashboard/spawn-dashboard.js';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { launchBrowser, openPage, type WatchedPage } from '../helpers/browser.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
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

const SITES = 24;

/**
 * `keyfleet dashboard` (the built CLI, `npm run build` first) is killed with SIGKILL in the middle
 * of a run over a slow fleet; a dashboard started again on the same state database shows the run as
 * interrupted, in the history and on the run's page, and one click resumes it: every site ends with
 * exactly one result. Started once more with a periodic verify, its Sites page shows a site changed
 * by hand as drifted with nobody asking.
 */
describe('after the dashboard was killed mid-run', () => {
  const sites: FakeSiteServer[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'keyfleet-web-resume-'));
  const sk = makeKey('sk');
  const env = {
    KEYFLEET_DB: join(dir, 'keyfleet.db'),
    TEMPLATE_MASTER_API_KEY: MASTER_KEY,
    KEYFLEET_RETRIES: '0',
    KEYFLEET_VERIFY_INTERVAL_S: '0',
  };
  let first: Awaited<ReturnType<typeof spawnDashboard>> | undefined;
  let d: WebDashboard | undefined;
  let browser: Browser;
  let tab: WatchedPage;
  let page: Page;
  let runId = '';
  let doneBeforeKill = 0;

  beforeAll(async () => {
    for (let i = 0; i < SITES; i++)
      sites.push(await startFakeSite({ apiKey: MASTER_KEY, publishableKey: null, delayMs: 60 }));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    first?.child.kill('SIGKILL');
    await closeTab(tab);
    await browser?.close();
    await d?.close();
    await Promise.all(sites.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const h1 = async () => ((await page.getByRole('heading', { level: 1 }).textContent()) ?? '').trim();

  it('the first dashboard dies with SIGKILL while the run is half done', { timeout: 60_000 }, async () => {
    first = await spawnDashboard(env, ['--concurrency', '2']);
    const imported = await first.api(DASHBOARD_ROUTES.importSites, {
      content: sites.map((s) => s.url).join('\n'),
    });
    expect((imported.body.added as unknown[]).length).toBe(SITES);
    expect(
      (await first.api(DASHBOARD_ROUTES.keys, { make_default: true, publishable_key: makeKey('pk'), secret_key: sk })).status,
    ).toBe(201);
    const started = await first.api(DASHBOARD_ROUTES.runs, { canary: 0 });
    expect(started.status).toBe(202);
    runId = started.body.run_id as string;
    await first.events(runId, (event) => {
      if (event === 'site' && ++doneBeforeKill === 4) first!.child.kill('SIGKILL');
    });
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(doneBeforeKill).toBeLessThan(SITES);
  });

  it(
    'after a restart, the history and the run page show it interrupted, with Resume',
    { timeout: 30_000 },
    async () => {
      d = await startWebDashboard({ dir, env });
      tab = await openPage(browser);
      page = tab.page;
      await page.route('**/api/admin/runs/*/events', (route) => route.continue());
      await logIn(page, d.url);

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History' }).click();
      const row = page.locator(`.runs-table tr[data-run="${runId}"]`);
      await poll(() => textOf(page, `.runs-table tr[data-run="${runId}"]`)).toMatch(/Interrupted/);
      expect(await row.getByRole('button', { name: `Resume run ${runId}` }).isVisible()).toBe(true);
      await shot(page, '40-history-interrupted');

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Push' }).click();
      await poll(() => textOf(page, '.run-list')).toMatch(
        new RegExp(`^${runId} Interrupted Push · \\d+ of 24 sites done`),
      );

      await page.locator('.run-list').getByRole('link', { name: runId }).click();
      await poll(h1).toBe(`Push ${runId}`);
      await poll(() => textOf(page, '.recap h2')).toBe('Interrupted');
      const recap = await textOf(page, '.recap');
      const m =
        /The dashboard stopped during this run: (\d+) of 24 sites finished, (\d+) still pending\./.exec(
          recap,
        );
      expect(m, recap).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(doneBeforeKill);
      expect(Number(m![1]) + Number(m![2])).toBe(SITES);
      expect(Number(m![2])).toBeGreaterThan(0);
      expect(await page.locator('.run-table tbody tr.result-pending').count()).toBeGreaterThan(0);
      await shot(page, '41-run-interrupted');
    },
  );

  it(
    'one click resumes it: the pending sites finish live, each site with exactly one result',
    { timeout: 30_000 },
    async () => {
      await page.getByRole('button', { name: 'Resume run' }).click();
      await poll(() => textOf(page, '.recap h2'), 20_000).toBe('Done');
      expect(await textOf(page, '.counts')).toMatch(
        /^24 of 24 sites done — \d+ updated, \d+ unchanged, 0 failed$/,
      );
      await shot(page, '42-run-resumed');

      const report = await d!.api<{
        state: string;
        summary: Record<string, number>;
        sites: Array<{ url: string; status: string }>;
      }>(dashboardPath(DASHBOARD_ROUTES.run, { id: runId }));
      expect(report.state).toBe('done');
      expect(report.sites).toHaveLength(SITES);
      expect(new Set(report.sites.map((s) => s.url)).size).toBe(SITES);
      expect(report.summary.total).toBe(SITES);
      expect(report.summary.ok! + report.summary.unchanged!).toBe(SITES);
      for (const s of sites) expect(s.state.settings.get('stripe_secret_key')).toBe(sk);
      // The run cannot be resumed twice: the button is gone.
      expect(await page.getByRole('button', { name: 'Resume run' }).count()).toBe(0);
      const seen = tab.responses.map((r) => r.body).join('\n');
      expect(seen).not.toContain(sk);
      expect(unexpectedConsoleErrors(tab.consoleErrors)).toEqual([]);
    },
  );

  it(
    'with a periodic verify, the Sites page shows a site that drifted without being asked',
    { timeout: 30_000 },
    async () => {
      await page.goto('about:blank'); // the old page's requests stop before its dashboard does
      await d!.close(true);
      d = await startWebDashboard({ dir, env: { ...env, KEYFLEET_VERIFY_INTERVAL_S: '1' } });
      // Sessions live in the state database: the restarted dashboard still knows this browser.
      await page.goto(d.url);
      await page.getByRole('heading', { level: 1, name: 'Sites', exact: true }).waitFor();
      await poll(() => textOf(page, '.tile-ok .tile-count')).toBe('24');
      // Someone changes a site's publishable key by hand; nobody touches the dashboard.
      sites[5]!.state.settings.set('stripe_publishable_key', makeKey('pk'));
      await poll(() => textOf(page, '.tile-drifted .tile-count')).toBe('1');
      const row = page.locator('.sites-table tbody tr', { hasText: sites[5]!.url });
      expect(await row.locator('td').nth(2).textContent()).toBe('Drifted');
      expect(await row.locator('td').nth(3).textContent()).toBe('✗ differs');
      expect(await textOf(page, '.verify-info')).toMatch(/Every site is verified every 1 s\.$/);
      await shot(page, '43-sites-live-drift');
      expect(unexpectedConsoleErrors(tab.consoleErrors)).toEqual([]);
    },
  );
});
