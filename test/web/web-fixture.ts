import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { buildDashboardApp } from '../../src/dashboard/app.js';
import { openStateStore } from '../../src/store/open-state-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { ADMIN_PASSWORD, ADMIN_TOKEN } from '../dashboard/dashboard-fixture.js';
import { saveScreenshot, type ConsoleError, type WatchedPage } from '../helpers/browser.js';
import { LogCapture } from '../helpers/log-capture.js';
import { MASTER_KEY } from '../helpers/keys.js';

export { ADMIN_PASSWORD, ADMIN_TOKEN };

/** The laptop screen every screenshot is taken at. */
export const LAPTOP = { width: 1280, height: 800 };

/**
 * A real dashboard for the browser: buildDashboardApp on a temp SQLite state store, listening on
 * 127.0.0.1:0, with the admin password (the UI's login) and token (the test's own API calls). No
 * periodic verify and no retries unless `env` says so, so a test decides when sites are checked.
 * `state` is the store the app runs on, for a test that records what a sweep would have found.
 */
export async function startWebDashboard(opts: { env?: Record<string, string>; dir?: string } = {}) {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'keyfleet-web-'));
  const logs = new LogCapture();
  const env: Record<string, string> = {
    KEYFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD,
    KEYFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
    TEMPLATE_MASTER_API_KEY: MASTER_KEY,
    KEYFLEET_DB: join(dir, 'keyfleet.db'),
    KEYFLEET_VERIFY_INTERVAL_S: '0',
    KEYFLEET_RETRIES: '0',
    ...opts.env,
  };
  const state: StateStore = await openStateStore({ env, eagerVaultKey: true });
  let app: FastifyInstance;
  try {
    app = await buildDashboardApp({ env, state, logStream: logs, logLevel: 'info' });
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (err) {
    await state.close();
    throw err;
  }
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  /** The admin API with the Bearer token, for setting up and checking what the UI did. */
  async function api<T = Record<string, unknown>>(path: string, body?: unknown, method?: string): Promise<T> {
    const res = await fetch(`${url}${path}`, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`${method ?? 'GET'} ${path} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  return {
    url,
    dir,
    env,
    logs,
    state,
    app,
    api,
    /** Closes the app (cancelling runs in flight) and the store; the files stay unless `keep` is false. */
    async close(keep = false) {
      await app.close();
      await state.close();
      if (!keep && !opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type WebDashboard = Awaited<ReturnType<typeof startWebDashboard>>;

/** Opens the dashboard at laptop size and logs in with the password, as an operator would. */
export async function logIn(page: Page, url: string): Promise<void> {
  await page.setViewportSize(LAPTOP);
  await page.goto(url);
  await page.getByLabel('Admin password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sites', exact: true }).waitFor();
}

/** test-artifacts/dashboard/<name>.png */
export const shot = (page: Page, name: string) => saveScreenshot(page, `dashboard/${name}`);

/** The text of the element matching `selector`, whitespace collapsed ('' when absent). */
export async function textOf(page: Page, selector: string): Promise<string> {
  const el = page.locator(selector).first();
  if ((await el.count()) === 0) return '';
  return ((await el.textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

/**
 * expect.poll with room for a busy machine (2 shared cores, a browser per test file): the UI is
 * waited for, never slept on, and a real failure still ends the test in bounded time.
 */
export const poll = <T>(fn: () => T | Promise<T>, timeout = 10_000) =>
  expect.poll(fn, { timeout, interval: 50 });

/**
 * Console errors other than the one a logged-out browser always logs: the 401 of the session probe
 * (GET /api/admin/session) the UI makes on load to learn whether it is logged in.
 */
export const unexpectedConsoleErrors = (errors: ConsoleError[]) =>
  errors.filter((e) => !(e.url.endsWith('/api/admin/session') && /status of 401/.test(e.text)));

/**
 * Closes a tab without failing on a request still in flight (the UI polls the verify status): the
 * page is left first, then routes in progress are let go.
 */
export async function closeTab(tab: WatchedPage | undefined): Promise<void> {
  if (!tab) return;
  await tab.page.goto('about:blank').catch(() => undefined);
  await tab.page.unrouteAll({ behavior: 'ignoreErrors' });
  await tab.context.unrouteAll({ behavior: 'ignoreErrors' });
  await tab.close();
}
