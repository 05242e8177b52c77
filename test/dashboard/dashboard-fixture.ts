import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildDashboardApp, type BuildDashboardAppOptions } from '../../src/dashboard/app.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../../src/protocol/dashboard-routes.js';
import { LogCapture } from '../helpers/log-capture.js';
import { MASTER_KEY } from '../helpers/keys.js';
import { anyStateBackend, type StateBackendName } from '../store/any-state-backend.js';

/**
 * The backend every dashboard test runs on: `KEYFLEET_TEST_BACKEND=postgres npx vitest run test/dashboard`
 * runs the same suite on Postgres (POSTGRES_TEST_URL, a fresh schema per dashboard).
 */
export const DASHBOARD_BACKEND: StateBackendName =
  process.env.KEYFLEET_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';

/** Credentials of the test dashboards, made at run time (nothing secret-shaped in the repository). */
export const ADMIN_PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
export const ADMIN_TOKEN = `adm-${randomBytes(24).toString('hex')}`;
export const REGISTRATION_TOKEN = `reg-${randomBytes(24).toString('hex')}`;

export interface Call {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  /** A url-encoded form body instead of JSON. */
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** Authenticate with the admin Bearer token (default) or not at all. */
  auth?: 'token' | 'none';
  /** The client's address (limits count per address); 127.0.0.1 by default. */
  from?: string;
}

/**
 * A dashboard app on a fresh state database (temp dir, vault key file created on start), with every
 * log line and every response body kept so a test can grep the whole session for a secret.
 */
export async function startTestDashboard(
  opts: { env?: Record<string, string | undefined> } & Omit<
    BuildDashboardAppOptions,
    'env' | 'statePath' | 'logStream'
  > = {},
) {
  const db = anyStateBackend(DASHBOARD_BACKEND);
  const dir = db.dir;
  const logs = new LogCapture();
  const transcript: string[] = [];
  const env = {
    KEYFLEET_ADMIN_PASSWORD: ADMIN_PASSWORD,
    KEYFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
    KEYFLEET_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
    TEMPLATE_MASTER_API_KEY: MASTER_KEY,
    // SQLite: no vault key given, so the dashboard creates vault.key next to the database on first start.
    ...(DASHBOARD_BACKEND === 'sqlite' ? { KEYFLEET_DB: join(dir, 'keyfleet.db') } : db.env),
    ...opts.env,
  };
  const build = () => buildDashboardApp({ ...opts, env, logStream: logs, logLevel: 'info' });
  let app: FastifyInstance = await build();

  async function call(c: Call): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = { ...c.headers };
    if ((c.auth ?? 'token') === 'token' && !headers.cookie) headers.authorization ??= `Bearer ${ADMIN_TOKEN}`;
    let payload: string | undefined;
    if (c.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(c.form).toString();
    } else if (c.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(c.body);
    }
    const method = c.method ?? (payload === undefined ? 'GET' : 'POST');
    const res = await app.inject({ method, url: c.url, headers, payload, remoteAddress: c.from });
    transcript.push(`${method} ${c.url} → ${res.statusCode} ${JSON.stringify(res.headers)}\n${res.body}`);
    return res;
  }

  return {
    dir,
    logs,
    transcript,
    env,
    get app() {
      return app;
    },
    call,
    /** Logs in with the password; returns the cookie header and CSRF token of the new session. */
    async login(): Promise<{ cookie: string; csrf: string; setCookie: string }> {
      const res = await call({ url: '/api/admin/login', body: { password: ADMIN_PASSWORD }, auth: 'none' });
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
      const setCookie = String(res.headers['set-cookie']);
      const id = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(setCookie)?.[1] ?? '';
      return { cookie: `${SESSION_COOKIE}=${id}`, csrf: res.json().csrf_token, setCookie };
    },
    csrfHeaders: (s: { cookie: string; csrf: string }) => ({ cookie: s.cookie, [CSRF_HEADER]: s.csrf }),
    /** Everything the session said and logged, plus everything the state database stores. */
    async everything(): Promise<string> {
      return [...transcript, logs.text(), await db.dump()].join('\n');
    },
    /** Close and build again on the same database (a restart). */
    async restart(): Promise<FastifyInstance> {
      await app.close();
      app = await build();
      return app;
    },
    async close() {
      await app.close();
      await db.cleanup();
    },
  };
}

export type TestDashboard = Awaited<ReturnType<typeof startTestDashboard>>;

/** Parses a text/event-stream body into its events. */
export function parseSse(body: string): Array<{ id: number; event: string; data: unknown }> {
  return body
    .split('\n\n')
    .map((frame) => {
      const field = (name: string) =>
        frame
          .split('\n')
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2);
      const data = field('data');
      return data === undefined
        ? null
        : { id: Number(field('id')), event: field('event') ?? 'message', data: JSON.parse(data) as unknown };
    })
    .filter((e): e is { id: number; event: string; data: unknown } => e !== null);
}
