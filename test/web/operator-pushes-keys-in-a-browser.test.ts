import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { settingPath } from '../../src/protocol/routes.js';
import { refusedPort } from '../fault-fleet/index.js';
import { launchBrowser, openPage, type WatchedPage } from '../helpers/browser.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { startHeldSite } from './held-site.js';
import {
  ADMIN_PASSWORD,
  ADMIN_TOKEN,
  logIn,
  poll,
  shot,
  startWebDashboard,
  textOf,
  unexpectedConsoleErrors,
  type WebDashboard,
  closeTab,
} from './web-fixture.js';

type Fleet = Awaited<ReturnType<typeof startTemplateFleet>>;
type Held = Awaited<ReturnType<typeof startHeldSite>>;

/**
 * An operator's session in Debian's Chromium against a real dashboard and four real template sites:
 * import the fleet, add keys, preview, push and watch it live, read the history, catch a site changed
 * behind the dashboard's back, reconcile it, learn when the old key can be rolled, re-run a failed
 * site. The steps run in order on one logged-in page; the last one greps everything the browser
 * received for a secret.
 */
describe('an operator pushes keys from the web dashboard', () => {
  let fleet: Fleet;
  let held: Held;
  let d: WebDashboard;
  let browser: Browser;
  let tab: WatchedPage;
  let page: Page;
  let deadUrl: string;
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const sk2 = makeKey('sk');
  const otherPk = makeKey('pk');
  const siteKey = `site-own-key-${makeKey('sk').slice(8, 40)}`;
  const runIds: string[] = [];
  const masked = (key: string) => `${key.slice(0, 8)}…${key.slice(-4)}`;

  beforeAll(async () => {
    fleet = await startTemplateFleet(4);
    held = await startHeldSite(fleet.urls[3]!);
    deadUrl = `http://127.0.0.1:${await refusedPort()}`;
    d = await startWebDashboard({ env: { KEYFLEET_TIMEOUT_MS: '20000' } });
    browser = await launchBrowser();
    tab = await openPage(browser);
    page = tab.page;
    // Event streams go straight to the page: relaying them (as openPage does to record bodies) would
    // deliver a run's events only once it ended. Their content is checked through the API below.
    await page.route('**/api/admin/runs/*/events', (route) => route.continue());
    await logIn(page, d.url);
  });
  afterAll(async () => {
    await closeTab(tab);
    await browser?.close();
    await d?.close();
    await held?.close();
    await fleet?.close();
  });

  const h1 = async () => ((await page.getByRole('heading', { level: 1 }).textContent()) ?? '').trim();
  const go = async (link: 'Sites' | 'Keys' | 'Push' | 'History', heading: string) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link }).click();
    await poll(h1).toBe(heading);
    await page.locator('.view[aria-busy="false"]').waitFor();
  };
  const siteRow = (text: string) => page.locator('.sites-table tbody tr', { hasText: text });
  const runRow = (url: string) => page.locator(`.run-table tbody tr[data-url="${url}"]`);
  const recap = () => textOf(page, '.recap h2');
  const notice = () => textOf(page, '.notice-area');
  const currentRun = () => decodeURIComponent(page.url().split('#/runs/')[1] ?? '');
  /** Starts a preview from the Push page as it is filled in, and waits for its recap. */
  const preview = async () => {
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await poll(h1).toMatch(/^Preview/);
    runIds.push(currentRun());
    await poll(recap).toMatch(/^Preview ready/);
  };
  /** Clicks a run action; a preview's Confirm opens its dialog, whose push button is then pressed. */
  const confirm = async (name: RegExp, inDialog?: (dialog: ReturnType<Page['getByRole']>) => Promise<void>) => {
    const before = currentRun();
    await page.getByRole('button', { name }).click();
    if (/^Confirm/.test(name.source.replace('^', ''))) {
      const dialog = page.getByRole('dialog', { name: 'Confirm the push' });
      await inDialog?.(dialog);
      await dialog.getByRole('button', { name: /^Push to/ }).click();
    }
    await poll(currentRun).not.toBe(before);
    runIds.push(currentRun());
  };

  it("imports the seed's sites file and the YAML inventory: every site listed, unchecked", async () => {
    await poll(() => textOf(page, '.sites-table tbody')).toMatch(/^No sites yet/);
    await shot(page, '10-sites-empty');

    await page.getByRole('button', { name: 'Import sites' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import sites' });
    expect(await dialog.getByRole('radio', { name: /Sites file/ }).isChecked()).toBe(true);
    const seed = ['# the seed fleet', `${fleet.urls[0]}/`, fleet.urls[1], '', fleet.urls[2], ''].join('\n');
    await dialog
      .getByLabel('File', { exact: true })
      .setInputFiles({ name: 'sites.txt', mimeType: 'text/plain', buffer: Buffer.from(seed) });
    await dialog.getByLabel('Tags to add', { exact: true }).fill('eu');
    await dialog.getByRole('button', { name: 'Import' }).click();
    await poll(notice).toBe('Imported 3 sites.');

    await page.getByRole('button', { name: 'Import sites' }).click();
    await dialog.getByRole('radio', { name: /YAML inventory/ }).check();
    const yaml = ['sites:', `  - url: ${held.url}`, '    name: shop-held', '    tags: [us, production]'].join(
      '\n',
    );
    await dialog.getByLabel('Content', { exact: true }).fill(yaml);
    await dialog.getByRole('button', { name: 'Import' }).click();
    await poll(notice).toBe('Imported 1 site.');

    expect(await page.locator('.sites-table tbody tr').count()).toBe(4);
    for (const url of fleet.urls.slice(0, 3))
      expect(await siteRow(url).textContent()).toMatch(/eu.*Unchecked/);
    expect(await siteRow('shop-held').textContent()).toMatch(/usproduction.*Unchecked/);
    expect(await page.getByLabel('Tag', { exact: true }).locator('option').allTextContents()).toEqual([
      'All tags',
      'eu (3)',
      'production (1)',
      'us (1)',
    ]);
    expect(await textOf(page, '.pager-info')).toBe('Showing 1–4 of 4');

    // Tags and the site's own API key, from the edit dialog: rotating gives it a fresh key with no gap.
    const name0 = fleet.urls[0]!.replace('http://', '');
    await siteRow(fleet.urls[0]!)
      .getByRole('button', { name: `Edit ${name0}` })
      .click();
    const edit = page.getByRole('dialog', { name: `Edit ${name0}` });
    await edit.getByLabel('Tags', { exact: true }).fill('eu, vip');
    await edit.getByRole('radio', { name: /^Rotate/ }).check();
    await edit.getByRole('button', { name: 'Save' }).click();
    await poll(notice).toBe(`Saved ${name0}.`);
    expect(await siteRow(fleet.urls[0]!).locator('th').textContent()).toBe(`${name0}own key${fleet.urls[0]}`);
    expect(await siteRow(fleet.urls[0]!).locator('td').nth(1).textContent()).toBe('euvip');
    await shot(page, '11-sites-imported');
    const { sites } = await d.api<{
      sites: Array<{ url: string; tags: string[]; source: string; has_api_key: boolean }>;
    }>(DASHBOARD_ROUTES.sites);
    expect(sites.map((s) => s.has_api_key)).toEqual([true, false, false, false]);
    expect(sites.map((s) => [s.url, s.tags, s.source])).toEqual([
      [fleet.urls[0], ['eu', 'vip'], 'import'],
      [fleet.urls[1], ['eu'], 'import'],
      [fleet.urls[2], ['eu'], 'import'],
      [held.url, ['us', 'production'], 'import'],
    ]);
  });

  it('adds a key version: the vault shows it masked (mode, last4, fingerprint, created by), never its value', async () => {
    await go('Keys', 'Key vault');
    await page.getByLabel('Publishable key', { exact: true }).fill(pk);
    await page.getByLabel('Secret key', { exact: true }).fill(sk);
    await page.getByRole('button', { name: 'Save new version' }).click();
    // Issue 11: saving asks before the new version becomes what the fleet should hold.
    const ask = page.getByRole('dialog', { name: 'Make it the fleet default?' });
    expect(await ask.getByRole('button', { name: 'Only save it' }).isVisible()).toBe(true);
    await ask.getByRole('button', { name: 'Save and make it the default' }).click();
    await poll(notice).toMatch(/^Saved v1: it is now the fleet default\./);
    expect(await page.getByLabel('Publishable key', { exact: true }).inputValue()).toBe('');
    expect(await page.getByLabel('Secret key', { exact: true }).inputValue()).toBe('');
    const v1 = await textOf(page, '.versions-table tr[data-version="v1"]');
    expect(v1).toContain(`test${masked(pk)}`);
    expect(v1).toContain(`fp ${fingerprint(pk)}`);
    expect(v1).toContain(`test${masked(sk)}`);
    expect(v1).toContain(`fp ${fingerprint(sk)}`);
    expect(v1).toContain('by admin');
    // Issue 11: one card per key, never per version; a key every site should hold is in use.
    expect(await textOf(page, `.safe[data-key="secret_key:${fingerprint(sk)}"] strong`)).toBe(
      `In use: do not roll the secret key ${masked(sk)} (fp ${fingerprint(sk)}, v1).`,
    );
    expect(await textOf(page, `.safe[data-key="secret_key:${fingerprint(sk)}"] p`)).toBe(
      '4 sites should hold it. Rolling it in Stripe would break checkout on 4 sites.',
    );
    const html = await page.content();
    expect(html).not.toContain(sk);
    expect(html).not.toContain(pk);
    await shot(page, '12-keys-v1');
  });

  it('previews the push: per site, masked, what would change — and writes nothing', async () => {
    await go('Push', 'Push keys');
    expect(await page.getByRole('radio', { name: /All sites \(4\)/ }).isChecked()).toBe(true);
    await shot(page, '13-push-form');
    await preview();
    expect(await textOf(page, '.counts')).toBe('4 of 4 sites done — 4 would change, 0 up to date, 0 failed');
    for (const url of [...fleet.urls.slice(0, 3), held.url]) {
      const row = runRow(url);
      expect(await textOf(page, `.run-table tbody tr[data-url="${url}"] td:nth-of-type(1)`)).toBe(
        'Will change',
      );
      expect(await row.locator('li[data-setting="stripe_publishable_key"]').textContent()).toBe(
        `Publishable key: none → ${masked(pk)}`,
      );
      expect(await row.locator('li[data-setting="stripe_secret_key"]').textContent()).toBe(
        `Secret key: none → ${masked(sk)}`,
      );
    }
    expect(await textOf(page, '.recap')).toContain(
      '4 sites would change, 0 already up to date. Nothing was written.',
    );
    for (let i = 0; i < 4; i++) expect(await fleet.pkOf(i)).toBeNull();
    await shot(page, '13-push-preview-dry-run');
  });

  it('confirms: per-site progress arrives live (server-sent events), then the recap', async () => {
    held.hold();
    await confirm(/^Confirm: push to 4 sites/);
    await poll(h1).toMatch(/^Confirmed push/);
    // The held site's writes wait: the page shows the three others done while the run goes on.
    await held.waitForHeld();
    await poll(() => page.locator('.counts').getAttribute('data-done')).toBe('3');
    expect(await textOf(page, '.counts')).toBe(
      '3 of 4 sites done — 3 updated, 0 unchanged, 0 failed · phase: push',
    );
    expect(await textOf(page, `.run-table tbody tr[data-url="${held.url}"] td:nth-of-type(1)`)).toBe(
      'Pending',
    );
    expect(await textOf(page, `.run-table tbody tr[data-url="${fleet.urls[0]}"] td:nth-of-type(1)`)).toBe(
      'Updated',
    );
    expect(await page.locator('.meta').textContent()).toContain('Running');
    expect(await page.locator('.recap').isHidden()).toBe(true);
    // Screen readers hear the progress (polite live region, throttled).
    await poll(() => textOf(page, '.progress-panel [aria-live="polite"]')).toMatch(/^3 of 4 sites done/);
    await shot(page, '14-run-in-progress');

    held.release();
    await poll(recap).toBe('Done');
    expect(await textOf(page, '.counts')).toBe('4 of 4 sites done — 4 updated, 0 unchanged, 0 failed');
    expect(await textOf(page, '.recap')).toContain(
      '4 sites updated and verified, 0 already up to date, 0 failed.',
    );
    // The first version replaced no key the vault knows: there is nothing to roll, so nothing said.
    expect(await page.locator('.recap .safe-line').count()).toBe(0);
    for (let i = 0; i < 4; i++) {
      expect(await fleet.pkOf(i)).toBe(pk);
      expect((await fleet.keysOf(i)).stripe_secret_key.fingerprint).toBe(fingerprint(sk));
    }
    await shot(page, '15-run-done');
  });

  it('history lists the preview and the push; the audit log says who did what', async () => {
    await go('History', 'History');
    const runs = page.locator('.runs-table tbody tr[data-run]');
    await poll(() => runs.count()).toBe(2);
    expect(await runs.nth(0).textContent()).toMatch(
      new RegExp(`^${runIds[1]}.*Confirmed push · v1adminDone4 updated · 0 unchanged · 4 total`),
    );
    expect(await runs.nth(1).textContent()).toMatch(
      new RegExp(`^${runIds[0]}.*Preview \\(dry run\\) · v1adminPreview ready4 to change · 0 unchanged · 4 total`),
    );
    const actions = await page
      .locator('.audit-table tbody tr')
      .evaluateAll((rows) =>
        rows.map((r) => (r as unknown as { dataset: { action: string } }).dataset.action),
      );
    expect(actions).toEqual([
      'keys.safe_to_roll',
      'run.confirm',
      'run.preview',
      'keys.create',
      'site.rotate_credentials',
      'site.update',
      'site.import',
      'site.import',
      'login',
    ]);
    await page.getByLabel('Filter', { exact: true }).fill('keys.');
    expect(await page.locator('.audit-table tbody tr').count()).toBe(2);
    await page.getByLabel('Filter', { exact: true }).fill('');
    await shot(page, '16-history');
    // A run opens from the history.
    await page.locator('.runs-table').getByRole('link', { name: runIds[0]! }).click();
    await poll(h1).toBe(`Preview (dry run) ${runIds[0]}`);
  });

  it("a site changed behind the dashboard's back shows as drifted after a verify", async () => {
    const put = await fleet.sites[1]!.app.inject({
      method: 'PUT',
      url: settingPath('stripe_publishable_key'),
      headers: { 'x-api-key': MASTER_KEY },
      payload: { value: otherPk },
    });
    expect(put.statusCode).toBe(200);
    await go('Sites', 'Sites');
    // The push recorded what it verified: every site in sync.
    expect(await textOf(page, '.tile-ok .tile-count')).toBe('4');
    await page.getByRole('button', { name: 'Verify now' }).click();
    await poll(notice).toBe('Verify finished: 4 sites checked: 3 in sync, 1 drifted, 0 unreachable.');
    const row = siteRow(fleet.urls[1]!);
    expect(await row.locator('td').nth(2).textContent()).toBe('Drifted');
    expect(await row.locator('td').nth(3).textContent()).toBe('✗ differs');
    expect(await row.locator('td').nth(4).textContent()).toBe('✓ as desired');
    expect(await row.locator('td').nth(5).textContent()).toBe('test');
    expect(await row.locator('td').nth(7).textContent()).toMatch(/just now|s ago/);
    expect(await textOf(page, '.tile-drifted .tile-count')).toBe('1');
    await page.getByLabel('Status', { exact: true }).selectOption('drift');
    await poll(() => page.locator('.sites-table tbody tr').count()).toBe(1);
    expect(await page.locator('.sites-table tbody tr').textContent()).toContain(fleet.urls[1]);
    await shot(page, '17-sites-drifted');
  });

  it('reconcile pushes to the drifted site only, and fixes it', async () => {
    await page.getByRole('button', { name: 'Reconcile 1 drifted site' }).click();
    await poll(h1).toBe('Push keys');
    expect(await page.getByRole('checkbox', { name: /Only sites that drifted/ }).isChecked()).toBe(true);
    await preview();
    expect(await page.locator('.run-table tbody tr').count()).toBe(1);
    expect(await runRow(fleet.urls[1]!).locator('li').allTextContents()).toEqual([
      `Publishable key: ${masked(otherPk)} → ${masked(pk)}`,
    ]);
    // The site's current publishable key is public, yet the page shows it masked like every key.
    expect(await page.content()).not.toContain(otherPk);
    await shot(page, '18-reconcile-preview');
    await confirm(/^Confirm: push to 1 site/);
    await poll(recap).toBe('Done');
    expect(await textOf(page, '.counts')).toBe('1 of 1 site done — 1 updated, 0 unchanged, 0 failed');
    expect(await fleet.pkOf(1)).toBe(pk);
    await go('Sites', 'Sites');
    await page.getByLabel('Status', { exact: true }).selectOption('');
    expect(await textOf(page, '.tile-ok .tile-count')).toBe('4');
    expect(await textOf(page, '.tile-drifted .tile-count')).toBe('0');
    expect(await page.getByRole('button', { name: 'Reconcile drifted' }).isDisabled()).toBe(true);
    await shot(page, '19-sites-in-sync');
  });

  it('after a key change, says when every site has verified the new key: the old one can be rolled', async () => {
    await go('Keys', 'Key vault');
    await page.getByLabel('Secret key', { exact: true }).fill(sk2);
    await page.getByRole('button', { name: 'Save new version' }).click();
    await page
      .getByRole('dialog', { name: 'Make it the fleet default?' })
      .getByRole('button', { name: 'Save and make it the default' })
      .click();
    await poll(notice).toMatch(/^Saved v2/);
    const oldSk = `.safe[data-key="secret_key:${fingerprint(sk)}"]`;
    expect(await textOf(page, `${oldSk} strong`)).toBe(
      `In use: do not roll the secret key ${masked(sk)} (fp ${fingerprint(sk)}, v1).`,
    );
    expect(await textOf(page, `${oldSk} p`)).toBe(
      '4 sites were last seen holding it. Rolling it in Stripe would break checkout on 4 sites.',
    );
    // The publishable key did not change: v1 and v2 both carry it, one card for it.
    expect(await page.locator(`.safe[data-key="publishable_key:${fingerprint(pk)}"]`).count()).toBe(1);
    expect(await textOf(page, `.safe[data-key="publishable_key:${fingerprint(pk)}"] strong`)).toBe(
      `In use: do not roll the publishable key ${masked(pk)} (fp ${fingerprint(pk)}, v1, v2).`,
    );
    await shot(page, '20-keys-v2-not-yet-safe');

    await go('Push', 'Push keys');
    await page.getByRole('radio', { name: /Sites with these tags/ }).check();
    for (const tag of ['eu', 'us']) await page.locator('.tag-choices').getByLabel(tag).check();
    await preview();
    expect(await runRow(fleet.urls[0]!).locator('li').allTextContents()).toEqual([
      `Secret key: fp ${fingerprint(sk)} → ${masked(sk2)}`,
    ]);
    await confirm(/^Confirm: push to 4 sites/);
    await poll(recap).toBe('Done');
    expect(await textOf(page, '.recap .safe-line')).toBe(
      `1 old key no site wants or holds any more: secret_key …${sk.slice(-4)}. They can be rolled in Stripe. Key vault`,
    );
    await go('Keys', 'Key vault');
    expect(await textOf(page, `${oldSk} strong`)).toBe(
      `Safe to roll the secret key ${masked(sk)} (fp ${fingerprint(sk)}, v1).`,
    );
    expect(await page.locator('.safe.safe-yes').count()).toBe(1);
    await shot(page, '21-keys-safe-to-roll');
  });

  it('a site that cannot be reached fails; "Re-run failed only" retries just it; removing it', async () => {
    await go('Sites', 'Sites');
    await page.getByRole('button', { name: 'Add site' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a site' });
    await dialog.getByLabel('Site URL', { exact: true }).fill(deadUrl);
    await dialog.getByLabel('Name', { exact: true }).fill('dead-shop');
    await dialog.getByLabel('Tags', { exact: true }).fill('eu');
    await dialog.getByLabel('Site API key', { exact: true }).fill(siteKey);
    await dialog.getByRole('button', { name: 'Add site' }).click();
    await poll(notice).toBe(`Added dead-shop (${deadUrl}).`);
    expect(await siteRow('dead-shop').textContent()).toMatch(/dead-shopown key.*Unchecked/);

    await siteRow('dead-shop').getByRole('checkbox').check();
    await siteRow(fleet.urls[0]!).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Push to 2 selected sites' }).click();
    await poll(h1).toBe('Push keys');
    expect(await page.getByRole('radio', { name: /These sites/ }).isChecked()).toBe(true);
    await preview();
    expect(await textOf(page, '.counts')).toBe('2 of 2 sites done — 0 would change, 1 up to date, 1 failed');
    expect(await recap()).toBe('Preview ready: 1 site could not be checked');
    await confirm(/^Confirm… \(1 site passed, 1 failed\)/, async (dialog) => {
      // Issue 11: the dialog restates the scope and what the preview found, and offers to leave the
      // failed site out (the default); here the operator keeps it in, under a budget that allows it.
      expect(((await dialog.textContent()) ?? '').replace(/\s+/g, ' ')).toContain(
        'Preview found0 sites to change, 1 already up to date, 1 could not be checked (connection_refused × 1).',
      );
      expect(await dialog.getByRole('radio', { name: /Only the 1 site that passed/ }).isChecked()).toBe(true);
      await dialog.getByRole('radio', { name: /All 2 sites, expecting 1 failure/ }).check();
      await dialog.getByLabel('Stop after this many failures').fill('1');
    });
    await poll(recap).toBe('Completed with failures');
    expect(await textOf(page, '.counts')).toBe('2 of 2 sites done — 0 updated, 1 unchanged, 1 failed');
    const failed = await textOf(page, `.run-table tbody tr[data-url="${deadUrl}"]`);
    expect(failed).toMatch(/^dead-shop.*Failed.*connection_refused/);

    await confirm(/^Re-run failed only \(1\)/);
    await poll(h1).toMatch(/^Re-run of failed sites/);
    await poll(recap).toBe('Completed with failures');
    expect(await page.locator('.run-table tbody tr').count()).toBe(1);
    expect(await textOf(page, '.counts')).toBe('1 of 1 site done — 0 updated, 0 unchanged, 1 failed');
    await shot(page, '22-rerun-failed');

    // dead-shop came after the old key went out of use, and was never read: it might hold it.
    await go('Keys', 'Key vault');
    const oldSk = `.safe[data-key="secret_key:${fingerprint(sk)}"]`;
    expect(await textOf(page, `${oldSk} strong`)).toBe(
      `Cannot tell yet for the secret key ${masked(sk)} (fp ${fingerprint(sk)}, v1).`,
    );
    await shot(page, '23-keys-check-before-rolling');

    await go('Sites', 'Sites');
    expect(await siteRow('dead-shop').locator('td').nth(2).textContent()).toBe(
      'Unreachableconnection_refused',
    );
    await siteRow('dead-shop').getByRole('button', { name: 'Remove dead-shop' }).click();
    await page
      .getByRole('dialog', { name: 'Remove dead-shop?' })
      .getByRole('button', { name: 'Remove site' })
      .click();
    await poll(notice).toBe('Removed dead-shop.');
    expect(await page.locator('.sites-table tbody tr').count()).toBe(4);
    await go('Keys', 'Key vault');
    expect(await textOf(page, `${oldSk} strong`)).toBe(
      `Safe to roll the secret key ${masked(sk)} (fp ${fingerprint(sk)}, v1).`,
    );
  });

  it('no page, script, API answer, event stream or log line carries a secret', async () => {
    const secrets = { sk, sk2, siteKey, MASTER_KEY, ADMIN_PASSWORD, ADMIN_TOKEN };
    const kinds = new Set(tab.responses.map((r) => new URL(r.url).pathname.split('/')[1]));
    expect([...kinds]).toEqual(expect.arrayContaining(['', 'web', 'api']));
    expect(tab.responses.length).toBeGreaterThan(50);
    // The streams the page followed, as the dashboard replays them.
    const streams: string[] = [];
    for (const id of runIds) {
      const res = await fetch(`${d.url}${dashboardPath(DASHBOARD_ROUTES.runEvents, { id })}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      streams.push(await res.text());
    }
    expect(streams.every((s) => s.includes('event: end'))).toBe(true);
    const everything = [
      ...tab.responses.map((r) => `${r.url}\n${r.body}`),
      ...streams,
      await page.content(),
      d.logs.text(),
    ].join('\n');
    for (const [name, value] of Object.entries(secrets)) {
      expect(everything.includes(value), `${name} appears in what the browser received`).toBe(false);
    }
    expect(tab.blocked).toEqual([]);
    // The browser logs the API's refusals it was shown (the preview of the dead site is a 200, but the
    // session probe before login is a 401); nothing else may appear.
    expect(unexpectedConsoleErrors(tab.consoleErrors)).toEqual([]);
  });
});
