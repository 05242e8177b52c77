import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Real-browser tests run Debian's Chromium (`apt-get install chromium`, see .ci/run) through
 * playwright-core, which never downloads a browser of its own. Launch one browser per test file and
 * open a fresh context per test with `openPage`; close the browser in `afterAll`.
 *
 * @example
 *   const browser = await launchBrowser();
 *   const tab = await openPage(browser);
 *   await tab.page.goto(siteUrl);
 *   await saveScreenshot(tab.page, 'landing-page/ready');
 *   expect(tab.consoleErrors).toEqual([]);
 *   await browser.close();
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Screenshots land here (gitignored), under the repository root whatever the working directory. */
export const ARTIFACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts');

// Quiet and offline: no sync, no component or field-trial downloads, no QUIC probing. The profile is a
// fresh temp --user-data-dir that Playwright creates and deletes itself (it refuses the flag in `args`).
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

export function launchBrowser(options: { timeoutMs?: number } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    timeout: options.timeoutMs ?? 15_000,
  });
}

export interface ConsoleError {
  text: string;
  /** The script or resource the message is about (for "Failed to load resource", the URL that failed). */
  url: string;
}

export interface ResponseSeen {
  url: string;
  status: number;
  body: string;
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** console.error output, CSP reports ("Refused to …") and uncaught exceptions, in order. */
  consoleErrors: ConsoleError[];
  /** Every loopback response the page received, body included, in order. */
  responses: ResponseSeen[];
  /** Requests to anything but loopback, aborted before they left the machine. */
  blocked: string[];
  close(): Promise<void>;
}

const isLoopback = (url: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

/**
 * A fresh context and page that record what a test asserts on. Loopback requests are relayed through
 * Playwright so each body is kept (the browser's own copy is gone once a navigation replaces the
 * page); the page gets the same status, headers and bytes. Any other request is aborted and listed in
 * `blocked`, unless the test answers it first with `page.route` (page routes win over context routes).
 */
export async function openPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 800, height: 700 } });
  context.setDefaultTimeout(5_000);
  context.setDefaultNavigationTimeout(10_000);
  const responses: ResponseSeen[] = [];
  const blocked: string[] = [];
  await context.route(
    (url) => url.protocol.startsWith('http'),
    async (route) => {
      const url = route.request().url();
      if (!isLoopback(new URL(url))) {
        blocked.push(url);
        return route.abort('blockedbyclient');
      }
      const response = await route.fetch({ maxRedirects: 0 });
      const body = await response.body();
      responses.push({ url, status: response.status(), body: body.toString('utf8') });
      return route.fulfill({ response, body });
    },
  );

  const page = await context.newPage();
  const consoleErrors: ConsoleError[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push({ text: msg.text(), url: msg.location().url });
  });
  page.on('pageerror', (err) => consoleErrors.push({ text: `uncaught: ${err.message}`, url: page.url() }));
  return { context, page, consoleErrors, responses, blocked, close: () => context.close() };
}

/** Saves a full-page PNG as test-artifacts/<name>.png (name may hold folders) and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}
