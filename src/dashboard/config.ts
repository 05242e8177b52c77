import { hashPassword, parsePasswordHash, sessionEpoch, type PasswordHash } from './auth/password.js';

/**
 * Everything the dashboard reads from its environment, parsed once (`dashboardConfigFromEnv` is the
 * only place that reads it). The admin password is hashed here, at startup: the configuration keeps
 * only the scrypt hash (and the session epoch derived from it). `keyfleet dashboard` then deletes
 * the variable from process.env; /proc/<pid>/environ keeps the value the process started with, so an
 * operator who wants the clear text nowhere gives the `scrypt$…` hash instead.
 *
 * | variable                      | meaning                                                          |
 * |-------------------------------|------------------------------------------------------------------|
 * | KEYFLEET_ADMIN_PASSWORD       | the web login (≥ 12 chars), or a `scrypt$…` hash of it            |
 * | KEYFLEET_ADMIN_TOKEN          | Bearer token for /api/admin/* (≥ 32 chars)                        |
 * | KEYFLEET_REGISTRATION_TOKEN   | Bearer token of POST /api/sites/register (≥ 32 chars); unset = off|
 * | KEYFLEET_REGISTRATION_ALLOWED_HOSTS | hosts (`a.example.com`, `*.example.com`, IPs) approved at once |
 * | KEYFLEET_REGISTRATIONS_PER_MINUTE | registrations per address per minute (10; ×5 dashboard-wide)  |
 * | TEMPLATE_MASTER_API_KEY       | the key that opens sites without their own (comma list: first used)|
 * | KEYFLEET_DB, KEYFLEET_VAULT_KEY | state database and vault key (openStateStore)                  |
 * | KEYFLEET_SECURE_COOKIES       | `true`/`false`; default: Secure when the request came over https  |
 * | KEYFLEET_TRUST_PROXY          | hop count or proxy IPs/CIDRs whose X-Forwarded-For/-Proto count    |
 * | KEYFLEET_VERIFY_INTERVAL_S    | seconds between two verifies of every site (300; 0 = off)         |
 * | KEYFLEET_DOCTOR_TIMEOUT_S     | time limit of one site's doctor from the dashboard (30)           |
 * | KEYFLEET_WORKER_CONCURRENCY   | Postgres: jobs of shared runs this dashboard works at once (2; 0 = none) |
 * | KEYFLEET_JOB_SITES            | Postgres: sites per job of a shared run (25)                      |
 * | KEYFLEET_JOB_EXPIRE_S         | Postgres: a job active this long is given to another worker (60)  |
 * | KEYFLEET_HEARTBEAT_S          | Postgres: a coordinator's heartbeat interval (10)                 |
 * | KEYFLEET_COORDINATOR_STALE_S  | Postgres: a heartbeat older than this is a dead coordinator (30)  |
 */
export interface DashboardConfig {
  host: string;
  port: number;
  adminPassword: PasswordHash | null;
  /** Derived from the admin password (auth/password.ts sessionEpoch): a changed password ends every session. */
  sessionEpoch: Buffer | null;
  adminToken: string | null;
  registrationToken: string | null;
  /** KEYFLEET_REGISTRATION_ALLOWED_HOSTS: registered sites on these hosts are approved at once. */
  registrationAllowedHosts: string;
  /** Registrations per address per minute (the dashboard as a whole takes five times as many). */
  registrationsPerMinute: number;
  masterKeys: string[];
  /** 'auto': Secure when the request arrived over https (directly or per X-Forwarded-Proto). */
  secureCookies: boolean | 'auto';
  /**
   * KEYFLEET_TRUST_PROXY: false, a hop count (the nearest N proxies are trusted), or the proxies'
   * addresses/CIDRs. Never "any X-Forwarded-For": a forged header must not choose the address that
   * lockouts and the audit log see.
   */
  trustProxy: TrustProxy;
  /** HTTP requests in flight to sites, dashboard-wide. */
  concurrency: number;
  timeoutMs: number;
  retries: number;
  allowHttp: boolean;
  /**
   * KEYFLEET_PUBLIC_PK=1 (issue 9): `GET /api/sites/:site/stripe-key` answers the publishable key
   * without a key, as the original template's sites ask for it. A publishable key is public data.
   */
  publicPk: boolean;
  /** Failed logins (and bad tokens) per address per minute before 429. */
  authFailureLimit: number;
  sessionTtlMs: number;
  /** Periodic verify of every site (KEYFLEET_VERIFY_INTERVAL_S, default 300 s); 0 turns it off. */
  verifyIntervalMs: number;
  /** The whole ladder of POST /api/admin/sites/:id/doctor (KEYFLEET_DOCTOR_TIMEOUT_S, default 30 s). */
  doctorTimeoutMs: number;
  /** Shared runs (Postgres only, runs/shared-runs.ts): how this dashboard takes part. */
  sharedRuns: SharedRunsConfig;
}

/** How a dashboard on Postgres shares runs with the others (DESIGN §3); unused on SQLite. */
export interface SharedRunsConfig {
  /** Jobs this dashboard works at once; 0: it coordinates its runs but works no job. */
  workerConcurrency: number;
  /** Sites per job. */
  jobSites: number;
  /** A job still active after this is taken for lost (its worker died) and given out again. */
  jobExpireS: number;
  heartbeatMs: number;
  /** A coordinator whose heartbeat is older than this is dead: its runs become `interrupted`. */
  staleAfterMs: number;
  /** How often a coordinator reads its run's counts. */
  pollMs: number;
}

export type TrustProxy = false | number | string[];

export class DashboardConfigError extends Error {
  readonly code = 'config_error';
}

const MIN_PASSWORD = 12;
const MIN_TOKEN = 32;

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new DashboardConfigError(`${name} must be an integer ≥ ${min} (got "${raw}").`);
  return n;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new DashboardConfigError(`${name} must be true or false (got "${env[name]}").`);
}

function token(env: NodeJS.ProcessEnv, name: string): string | null {
  const value = env[name];
  if (value === undefined || value === '') return null;
  if (/\s/.test(value))
    throw new DashboardConfigError(`${name} contains whitespace: remove it (tr -d '[:space:]').`);
  if (value.length < MIN_TOKEN) {
    throw new DashboardConfigError(
      `${name} is too short (${value.length} characters, at least ${MIN_TOKEN}). Generate one with: openssl rand -base64 32`,
    );
  }
  return value;
}

const CIDR = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]*)(?:\/\d{1,3})?$/i;

/**
 * A trusted-proxy setting: `2` (hops), `10.0.0.0/8,192.168.1.5` (addresses/CIDRs, `loopback`,
 * `linklocal`, `uniquelocal` too), or off (`false`, `0`, empty). A bare `true` is refused: it would
 * trust an X-Forwarded-For written by anyone.
 */
export function parseTrustProxy(raw: string | undefined, name = '--trust-proxy'): TrustProxy {
  const v = raw?.trim().toLowerCase() ?? '';
  if (v === '' || v === 'false' || v === 'no' || v === '0') return false;
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops > 0 && hops <= 16) return hops;
  }
  const list = v.split(',').map((x) => x.trim()).filter(Boolean);
  const named = new Set(['loopback', 'linklocal', 'uniquelocal']);
  if (!['true', 'yes', '1'].includes(v) && list.length > 0 && list.every((x) => named.has(x) || CIDR.test(x)))
    return list;
  throw new DashboardConfigError(
    `${name} must be the number of proxies in front of the dashboard (e.g. 1) or their addresses/CIDRs (e.g. 10.0.0.0/8,127.0.0.1), got "${raw}". ` +
      '"true" is refused: it would trust an X-Forwarded-For header anyone can write.',
  );
}

export function dashboardConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DashboardConfig {
  const password = env.KEYFLEET_ADMIN_PASSWORD;
  let adminPassword: PasswordHash | null = null;
  let epoch: Buffer | null = null;
  if (password !== undefined && password !== '') {
    adminPassword = parsePasswordHash(password);
    if (!adminPassword && password.startsWith('scrypt$')) {
      throw new DashboardConfigError(
        'KEYFLEET_ADMIN_PASSWORD looks like a scrypt hash but is not a usable one (scrypt$N$r$p$salt$hash, N ≥ 16384).',
      );
    }
    if (!adminPassword) {
      if (password.length < MIN_PASSWORD) {
        throw new DashboardConfigError(
          `KEYFLEET_ADMIN_PASSWORD is too short (at least ${MIN_PASSWORD} characters).`,
        );
      }
      adminPassword = hashPassword(password);
    }
    epoch = sessionEpoch(password);
  }
  return {
    host: env.HOST || '127.0.0.1',
    port: int(env, 'PORT', 4400, 0),
    adminPassword,
    sessionEpoch: epoch,
    adminToken: token(env, 'KEYFLEET_ADMIN_TOKEN'),
    registrationToken: token(env, 'KEYFLEET_REGISTRATION_TOKEN'),
    registrationAllowedHosts: env.KEYFLEET_REGISTRATION_ALLOWED_HOSTS ?? '',
    registrationsPerMinute: int(env, 'KEYFLEET_REGISTRATIONS_PER_MINUTE', 10, 1),
    masterKeys: (env.TEMPLATE_MASTER_API_KEY ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
    secureCookies: flag(env, 'KEYFLEET_SECURE_COOKIES') ?? 'auto',
    trustProxy: parseTrustProxy(env.KEYFLEET_TRUST_PROXY, 'KEYFLEET_TRUST_PROXY'),
    concurrency: int(env, 'KEYFLEET_CONCURRENCY', 16, 1),
    timeoutMs: int(env, 'KEYFLEET_TIMEOUT_MS', 8000, 1),
    retries: int(env, 'KEYFLEET_RETRIES', 2, 0),
    allowHttp: flag(env, 'KEYFLEET_ALLOW_HTTP') ?? false,
    publicPk: flag(env, 'KEYFLEET_PUBLIC_PK') ?? false,
    authFailureLimit: int(env, 'KEYFLEET_LOGIN_FAILURES_PER_MINUTE', 5, 1),
    sessionTtlMs: int(env, 'KEYFLEET_SESSION_HOURS', 12, 1) * 3_600_000,
    verifyIntervalMs: int(env, 'KEYFLEET_VERIFY_INTERVAL_S', 300, 0) * 1000,
    doctorTimeoutMs: int(env, 'KEYFLEET_DOCTOR_TIMEOUT_S', 30, 1) * 1000,
    sharedRuns: {
      workerConcurrency: int(env, 'KEYFLEET_WORKER_CONCURRENCY', 2, 0),
      jobSites: int(env, 'KEYFLEET_JOB_SITES', 25, 1),
      jobExpireS: int(env, 'KEYFLEET_JOB_EXPIRE_S', 60, 1),
      heartbeatMs: int(env, 'KEYFLEET_HEARTBEAT_S', 10, 1) * 1000,
      staleAfterMs: int(env, 'KEYFLEET_COORDINATOR_STALE_S', 30, 1) * 1000,
      pollMs: 500,
    },
  };
}

/** Refuses a dashboard nobody could log in to: it would serve the vault's metadata to no one, or to anyone. */
export function checkDashboardConfig(config: DashboardConfig): void {
  if (!config.adminPassword && !config.adminToken) {
    throw new DashboardConfigError(
      'Set KEYFLEET_ADMIN_PASSWORD (the web login, at least 12 characters) and/or KEYFLEET_ADMIN_TOKEN ' +
        '(Bearer token of the JSON API, at least 32 characters: openssl rand -base64 32). The dashboard does not start without one.',
    );
  }
}
