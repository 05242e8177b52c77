import { createRequire } from 'node:module';

/**
 * Everything a template site reads from its environment, parsed once. The README's configuration
 * table documents each variable; `templateConfigFromEnv` is the only place that reads them.
 */
export interface TemplateConfig {
  host: string;
  port: number;
  /** undefined → SQLite at ./data/template.db; `sqlite:<path>` or `postgres://…`. */
  databaseUrl: string | undefined;
  /** TEMPLATE_MASTER_API_KEY, comma-separated during a rotation. */
  masterKeys: string[];
  /** TEMPLATE_ENCRYPTION_KEY: 32 bytes, base64. Secrets are encrypted at rest when set. */
  encryptionKey: string | undefined;
  stripeApiBase: string | undefined;
  stripeTimeoutMs: number;
  /** Base of the checkout success/cancel URLs; the request's host when unset. */
  publicUrl: string | undefined;
  launchPriceCents: number;
  launchCurrency: string;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** Fallback values for each setting (STRIPE_PUBLISHABLE_KEY, …); a pushed value always wins. */
  env: Record<string, string | undefined>;
  /**
   * TEMPLATE_READ_AFTER_WRITE (on/off): check the database's change counter before serving a read
   * from the cache, so a read through any instance after a committed write returns it. Default: on
   * with Postgres (instances share it), off with SQLite (one process sees its own writes at once).
   */
  readAfterWrite: boolean | undefined;
  /** Failed authentications per address per minute before 429. */
  authFailureLimit: number;
  /**
   * TEMPLATE_ALLOWED_HOSTS: when PUBLIC_URL is unset, the Host names checkout may build its return
   * URLs from (exact names, `*.example.com` suffixes). Loopback names are always allowed.
   */
  allowedHosts: string[];
  /** TEMPLATE_CHECKOUT_PER_MINUTE: checkout sessions one address may create per minute. */
  checkoutPerMinute: number;
  /** TEMPLATE_REQUEST_TIMEOUT_MS: a whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** TEMPLATE_HEADERS_TIMEOUT_MS: the request headers must arrive within this. */
  headersTimeoutMs: number;
  /** TEMPLATE_MAX_CONNECTIONS: open connections beyond this are refused. */
  maxConnections: number;
  version: string;
}

export const PACKAGE_VERSION: string = (
  createRequire(import.meta.url)('../../package.json') as { version: string }
).version;

export class ConfigError extends Error {
  readonly code = 'config_error';
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer ≥ ${min} (got "${raw}").`);
  return n;
}

function onOff(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '') return undefined;
  if (['on', 'true', '1', 'yes'].includes(raw)) return true;
  if (['off', 'false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(`${name} must be on or off (got "${env[name]}").`);
}

/**
 * The shortest TEMPLATE_MASTER_API_KEY accepted: what `openssl rand -base64 32` gives (44) comfortably
 * passes. Issue 12 asks for 32; the troubleshooting guide's example keys (`new-master-key-2025`) are
 * shorter and are refused at start with the command that makes a good one.
 */
export const MASTER_KEY_MIN_LENGTH = 32;

/** Refuses master keys too short to resist guessing, or holding whitespace, with the fix. */
export function checkMasterKeys(keys: readonly string[]): void {
  for (const [i, key] of keys.entries()) {
    const which = keys.length > 1 ? `value ${i + 1} of TEMPLATE_MASTER_API_KEY` : 'TEMPLATE_MASTER_API_KEY';
    if (/[\s\p{C}]/u.test(key)) {
      throw new ConfigError(`${which} contains whitespace or control characters: remove them (tr -d '[:space:]').`);
    }
    if (key.length < MASTER_KEY_MIN_LENGTH) {
      throw new ConfigError(
        `${which} is too short (${key.length} characters; at least ${MASTER_KEY_MIN_LENGTH}). ` +
          'Generate one with: openssl rand -base64 32, and set the same value on the dashboard.',
      );
    }
  }
}

export function templateConfigFromEnv(env: NodeJS.ProcessEnv = process.env): TemplateConfig {
  const masterKeys = (env.TEMPLATE_MASTER_API_KEY ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  const currency = (env.SAAS_LAUNCH_CURRENCY ?? 'eur').toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) {
    throw new ConfigError(`SAAS_LAUNCH_CURRENCY must be a 3-letter ISO code such as eur (got "${currency}").`);
  }
  return {
    host: env.HOST ?? '127.0.0.1',
    port: int(env, 'PORT', 5000),
    databaseUrl: env.DATABASE_URL || undefined,
    masterKeys,
    encryptionKey: env.TEMPLATE_ENCRYPTION_KEY || undefined,
    stripeApiBase: env.STRIPE_API_BASE || undefined,
    stripeTimeoutMs: int(env, 'STRIPE_TIMEOUT_MS', 10_000, 1),
    publicUrl: env.PUBLIC_URL || undefined,
    launchPriceCents: int(env, 'SAAS_LAUNCH_PRICE_CENTS', 4900, 50),
    launchCurrency: currency,
    metricsToken: env.METRICS_TOKEN || undefined,
    env: {
      STRIPE_PUBLISHABLE_KEY: env.STRIPE_PUBLISHABLE_KEY,
      STRIPE_SECRET_KEY: env.STRIPE_SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: env.STRIPE_WEBHOOK_SECRET,
      STRIPE_PRICE_ID: env.STRIPE_PRICE_ID,
    },
    readAfterWrite: onOff(env, 'TEMPLATE_READ_AFTER_WRITE'),
    authFailureLimit: int(env, 'TEMPLATE_AUTH_FAILURES_PER_MINUTE', 10, 1),
    allowedHosts: (env.TEMPLATE_ALLOWED_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h.length > 0),
    checkoutPerMinute: int(env, 'TEMPLATE_CHECKOUT_PER_MINUTE', 10, 1),
    requestTimeoutMs: int(env, 'TEMPLATE_REQUEST_TIMEOUT_MS', 10_000, 100),
    headersTimeoutMs: int(env, 'TEMPLATE_HEADERS_TIMEOUT_MS', 5_000, 100),
    maxConnections: int(env, 'TEMPLATE_MAX_CONNECTIONS', 2048, 1),
    version: PACKAGE_VERSION,
  };
}
