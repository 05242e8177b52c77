import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEB_CSP, WEB_PREFIX, registerWebRoutes } from '../../src/dashboard/routes/web-routes.js';
import { CSRF_HEADER, DASHBOARD_ROUTES } from '../../src/protocol/dashboard-routes.js';
import { KEY_PATTERNS } from '../../src/protocol/key-formats.js';
import { startWebDashboard, type WebDashboard } from './web-fixture.js';

const WEB_DIR = new URL('../../src/web/', import.meta.url).pathname;
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) =>
    statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)],
  );

/** The dashboard serves src/web (index.html at /, the rest under /web/) with content types and its CSP. */
describe('the web UI routes', () => {
  let d: WebDashboard;
  beforeAll(async () => {
    d = await startWebDashboard();
  });
  afterAll(() => d.close());

  const get = (url: string) => d.app.inject({ url });

  it('serves index.html at / and every file of src/web with its type, the CSP and no-cache', async () => {
    const index = await get('/');
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['content-security-policy']).toBe(WEB_CSP);
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect(index.body).toContain('<script type="module" src="/web/js/main.js"></script>');
    const types: Record<string, string> = {
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      svg: 'image/svg+xml',
    };
    for (const path of files(WEB_DIR).filter((p) => !p.endsWith('index.html'))) {
      const rel = path.slice(WEB_DIR.length);
      const res = await get(`${WEB_PREFIX}${rel}`);
      expect(res.statusCode, rel).toBe(200);
      expect(res.headers['content-type'], rel).toBe(types[rel.split('.').pop()!]);
      expect(res.body).toBe(readFileSync(path, 'utf8'));
    }
  });

  it('keeps the CSP strict: own scripts and styles only, no inline, no framing, no upgrade of plain http', () => {
    expect(WEB_CSP).toContain("default-src 'none'");
    expect(WEB_CSP).toContain("script-src 'self'");
    expect(WEB_CSP).toContain("style-src 'self'");
    expect(WEB_CSP).toContain("connect-src 'self'");
    expect(WEB_CSP).toContain("frame-ancestors 'none'");
    expect(WEB_CSP).not.toMatch(/unsafe-|upgrade-insecure-requests/);
    // Nothing in the UI needs an exception: no inline script, handler or style attribute.
    for (const path of files(WEB_DIR)) {
      const text = readFileSync(path, 'utf8');
      expect(text, path).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(text, path).not.toMatch(/\son[a-z]+="/);
      expect(text, path).not.toMatch(
        /\sstyle="|setAttribute\('style'|innerHTML|insertAdjacentHTML|document\.write/,
      );
    }
  });

  it('gives the browser the protocol from src/protocol, so the UI spells no route by hand', async () => {
    const res = await get(`${WEB_PREFIX}js/protocol.js`);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const mod = (await import(`data:text/javascript,${encodeURIComponent(res.body)}`)) as {
      ROUTES: unknown;
      CSRF_HEADER: string;
      path(route: string, params: Record<string, string>): string;
    };
    expect(mod.ROUTES).toEqual(DASHBOARD_ROUTES);
    expect(mod.CSRF_HEADER).toBe(CSRF_HEADER);
    expect(mod.path(DASHBOARD_ROUTES.run, { id: 'a b' })).toBe('/api/admin/runs/a%20b');
    for (const path of files(join(WEB_DIR, 'js')))
      expect(readFileSync(path, 'utf8'), path).not.toContain("'/api/");
  });

  it('holds nothing key-shaped, and answers an unknown asset with the JSON 404', async () => {
    for (const path of files(WEB_DIR)) {
      for (const pattern of Object.values(KEY_PATTERNS)) {
        const unanchored = new RegExp(pattern.source.replace(/^\^|\$$/g, '').replace('+', '{12,}'));
        expect(readFileSync(path, 'utf8'), path).not.toMatch(unanchored);
      }
    }
    const missing = await get(`${WEB_PREFIX}js/nope.js`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ success: false, error: 'not_found' });
  });

  it('without its files (a build that skipped copy-assets) logs a warning and serves the API alone', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'keyfleet-no-web-'));
    const warnings: string[] = [];
    const app = Fastify();
    app.log.warn = ((msg: string) => void warnings.push(msg)) as typeof app.log.warn;
    try {
      registerWebRoutes(app, empty);
      app.get('/api/health', async () => ({ status: 'ok' }));
      expect((await app.inject({ url: '/' })).statusCode).toBe(404);
      expect((await app.inject({ url: '/api/health' })).statusCode).toBe(200);
      expect(warnings).toEqual([expect.stringContaining('the web UI is not served: no index.html')]);
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
