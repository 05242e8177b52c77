import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CSRF_HEADER,
  DASHBOARD_ROUTES,
  SESSION_COOKIE,
  dashboardPath,
} from '../../src/protocol/dashboard-routes.js';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { anyStateBackend } from '../store/any-state-backend.js';
import { ADMIN_PASSWORD, DASHBOARD_BACKEND } from './dashboard-fixture.js';
import { spawnDashboard } from './spawn-dashboard.js';

type Dashboard = Awaited<ReturnType<typeof spawnDashboard>>;
interface Login {
  cookie: string;
  csrf: string;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** A call made the way the browser makes it: the session cookie, plus the CSRF token when given. */
async function asBrowser(
  d: Dashboard,
  path: string,
  s: Login,
  opts: { body?: unknown; csrf?: boolean } = {},
) {
  const headers: Record<string, string> = { cookie: s.cookie };
  if (opts.csrf) headers[CSRF_HEADER] = s.csrf;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${d.url}${path}`, {
    method: opts.body === undefined ? 'GET' : 'POST',
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function login(d: Dashboard): Promise<Login & { setCookie: string }> {
  const res = await fetch(`${d.url}${DASHBOARD_ROUTES.login}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password: ADMIN_PASSWORD }),
  });
  expect(res.status).toBe(200);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const id = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(setCookie)?.[1] ?? '';
  const body = (await res.json()) as { csrf_token: string };
  return { cookie: `${SESSION_COOKIE}=${id}`, csrf: body.csrf_token, setCookie };
}

/**
 * `keyfleet dashboard` stopped and started again on the same state database (SQLite, or Postgres with
 * KEYFLEET_TEST_BACKEND=postgres): the admin stays logged in, with the same CSRF token, and a preview
 * made before the restart still says what it would change on each site. Two dashboards on one
 * database know the same sessions. The database holds a hash of the session id, never the id.
 */
describe('a dashboard restart', () => {
  const db = anyStateBackend(DASHBOARD_BACKEND);
  const sites: FakeSiteServer[] = [];
  const env = {
    ...db.env,
    KEYFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD,
    TEMPLATE_MASTER_API_KEY: MASTER_KEY,
    KEYFLEET_RETRIES: '0',
    KEYFLEET_VERIFY_INTERVAL_S: '0',
  };
  const running = new Set<Dashboard>();
  const start = async () => {
    const d = await spawnDashboard(env);
    running.add(d);
    return d;
  };
  const stop = async (d: Dashboard) => {
    expect(await d.stop()).toEqual({ code: 0, signal: null });
    running.delete(d);
  };

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) sites.push(await startFakeSite({ apiKey: MASTER_KEY, publishableKey: null }));
  });
  afterAll(async () => {
    for (const d of running) d.child.kill('SIGKILL');
    await Promise.all(sites.map((s) => s.close()));
    await db.cleanup();
  });

  it(
    'keeps the admin logged in, and keeps every site of a preview with its changes',
    { timeout: 60_000 },
    async () => {
      const first = await start();
      const s = await login(first);
      expect(s.setCookie).toMatch(/HttpOnly/);
      expect(s.setCookie).toMatch(/SameSite=Strict/);
      const sessionId = s.cookie.slice(SESSION_COOKIE.length + 1);

      // A preview made through the session, before the restart.
      expect(
        (
          await asBrowser(first, DASHBOARD_ROUTES.importSites, s, {
            csrf: true,
            body: { content: sites.map((x) => x.url).join('\n') },
          })
        ).status,
      ).toBe(200);
      const keys = { publishable_key: makeKey('pk'), secret_key: makeKey('sk'), make_default: true };
      expect((await asBrowser(first, DASHBOARD_ROUTES.keys, s, { csrf: true, body: keys })).status).toBe(201);
      const started = await asBrowser(first, DASHBOARD_ROUTES.runs, s, {
        csrf: true,
        body: { dry_run: true, canary: 0 },
      });
      expect(started.status).toBe(202);
      const previewId = started.body.run_id as string;
      expect((await first.events(previewId)).at(-1)?.event).toBe('end');
      const runPath = dashboardPath(DASHBOARD_ROUTES.run, { id: previewId });
      const beforeRestart = (await asBrowser(first, runPath, s)).body;
      const changesBefore = (beforeRestart.sites as Array<{ url: string; changes: string[] }>).map((x) => [
        x.url,
        x.changes,
      ]);
      expect(changesBefore).toHaveLength(3);
      for (const [, changes] of changesBefore)
        expect([...(changes as string[])].sort()).toEqual(['stripe_publishable_key', 'stripe_secret_key']);
      await stop(first);

      const second = await start();
      // The same cookie still opens the same session, with the same CSRF token.
      expect((await asBrowser(second, DASHBOARD_ROUTES.session, s)).body).toEqual({
        success: true,
        via: 'session',
        csrf_token: s.csrf,
      });
      // The preview, read after the restart: every site, with what it would change.
      const afterRestart = (await asBrowser(second, runPath, s)).body;
      expect(afterRestart).toMatchObject({
        run_id: previewId,
        dry_run: true,
        state: 'done',
        confirmable: true,
      });
      expect(
        (afterRestart.sites as Array<{ url: string; changes: string[] }>).map((x) => [x.url, x.changes]),
      ).toEqual(changesBefore);
      // Its replayed events too (this process never ran it).
      const replayed = await second.events(previewId);
      const siteEvents = replayed
        .filter((e) => e.event === 'site')
        .map((e) => e.data as { url: string; changes: string[] });
      expect(siteEvents.map((e) => [e.url, e.changes])).toEqual(expect.arrayContaining(changesBefore));
      expect(siteEvents).toHaveLength(3);
      expect(
        (replayed.at(-1)?.data as { sites: Array<{ url: string; changes: string[] }> }).sites.map((x) => [
          x.url,
          x.changes,
        ]),
      ).toEqual(changesBefore);
      // CSRF is enforced as before the restart: without the token a write is refused, with it accepted.
      const site = { url: 'https://added-after-restart.example.test' };
      expect((await asBrowser(second, DASHBOARD_ROUTES.sites, s, { body: site })).status).toBe(403);
      expect((await asBrowser(second, DASHBOARD_ROUTES.sites, s, { body: site, csrf: true })).status).toBe(
        201,
      );

      // Nothing stored is the session id or its CSRF token; the row is keyed by the id's SHA-256.
      const stored = await db.sql<{ id_hash: string; actor: string }>(
        'SELECT id_hash, actor FROM dashboard_sessions',
      );
      expect(stored).toEqual([{ id_hash: sha256(sessionId), actor: 'admin' }]);
      const everything = await db.dump();
      expect(everything).not.toContain(sessionId);
      expect(everything).not.toContain(s.csrf);
      expect(everything).not.toContain(keys.secret_key);

      // A second dashboard on the same database knows the session; a logout there ends it everywhere.
      const third = await start();
      expect((await asBrowser(third, DASHBOARD_ROUTES.session, s)).status).toBe(200);
      expect((await asBrowser(third, DASHBOARD_ROUTES.logout, s, { csrf: true, body: {} })).status).toBe(200);
      expect((await asBrowser(second, DASHBOARD_ROUTES.session, s)).status).toBe(401);
      expect(await db.sql('SELECT id_hash FROM dashboard_sessions')).toEqual([]);
      await stop(third);
      await stop(second);
    },
  );

  it(
    'still ends a session when it expires, and clears expired sessions at the next login',
    { timeout: 60_000 },
    async () => {
      const d = await start();
      const s = await login(d);
      const idHash = sha256(s.cookie.slice(SESSION_COOKIE.length + 1));
      expect((await asBrowser(d, DASHBOARD_ROUTES.session, s)).status).toBe(200);
      // As if its 12 hours had passed.
      const past = new Date(Date.now() - 1000).toISOString();
      await db.sql('UPDATE dashboard_sessions SET expires_at = $1 WHERE id_hash = $2', [past, idHash]);
      expect((await asBrowser(d, DASHBOARD_ROUTES.session, s)).status).toBe(401);
      expect(await db.sql('SELECT id_hash FROM dashboard_sessions WHERE id_hash = $1', [idHash])).toEqual([]);

      // A session that expired unseen (its browser never came back) goes at the next login.
      const other = await login(d);
      const otherHash = sha256(other.cookie.slice(SESSION_COOKIE.length + 1));
      await db.sql('UPDATE dashboard_sessions SET expires_at = $1 WHERE id_hash = $2', [past, otherHash]);
      const third = await login(d);
      const left = (await db.sql<{ id_hash: string }>('SELECT id_hash FROM dashboard_sessions')).map(
        (r) => r.id_hash,
      );
      expect(left).toContain(sha256(third.cookie.slice(SESSION_COOKIE.length + 1)));
      expect(left).not.toContain(otherHash);
      await stop(d);
    },
  );
});
