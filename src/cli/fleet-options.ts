import os from 'node:os';
import { createSiteClient, type SiteClient } from '../engine/site-client.js';
import { loadInventory, type Site } from '../engine/inventory.js';
import { maskedKey } from '../keys/masked-key.js';
import type { SettingName } from '../protocol/settings.js';
import type { MaskedKey } from '../store/state-store.js';
import { usageError } from '../protocol/cli-error.js';
import type { Reporter } from './output/reporter.js';
import { isProtocolChoice, PROTOCOL_CHOICES, type ProtocolChoice } from '../engine/protocol-choice.js';

/** The options every fleet command shares (main.ts declares them); commander gives strings. */
export interface FleetOptions {
  sitesFile?: string;
  tag?: string;
  limit?: string;
  concurrency?: string;
  timeout?: string;
  retries?: string;
  allowHttp?: boolean;
  json?: boolean;
  verbose?: boolean;
  /** `--protocol seed|keyfleet|auto` (issue 9): every site in that protocol; default per site. */
  protocol?: string;
}

/**
 * How a site is spoken to: `--protocol` when given, else the inventory's `protocol`, else `auto`
 * (detected at preflight; what an earlier run detected is only a hint, see ProtocolTask).
 */
export function protocolFor(site: Site, opts: FleetOptions): ProtocolChoice {
  if (opts.protocol !== undefined) {
    if (!isProtocolChoice(opts.protocol)) throw usageError(`--protocol must be one of ${PROTOCOL_CHOICES.join(', ')} (got "${opts.protocol}").`, 'seed: the original template sites; keyfleet: this package\'s template; auto: detect per site.');
    if (opts.protocol !== 'auto') return opts.protocol;
  }
  return site.protocol ?? 'auto';
}

export function parseCount(value: string | undefined, flag: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw usageError(`${flag} must be a whole number ≥ ${min} (got "${value}").`);
  return n;
}

export function parseTimeoutMs(value: string | undefined): number {
  const n = Number(value ?? '8');
  if (!Number.isFinite(n) || n <= 0 || n > 600) throw usageError(`--timeout is in seconds, more than 0 and at most 600 (got "${value}").`);
  return Math.round(n * 1000);
}

export async function loadSites(opts: FleetOptions, reporter: Reporter): Promise<Site[]> {
  if (!opts.sitesFile) throw usageError('--sites-file is required.', 'Pass a file with one site URL per line, or a YAML inventory.');
  const limit = opts.limit === undefined ? undefined : parseCount(opts.limit, '--limit', 0);
  const { sites, warnings } = await loadInventory(opts.sitesFile, { tag: opts.tag, limit });
  for (const w of warnings) reporter.warn(w);
  if (sites.length === 0) throw usageError(`no sites to work on in ${opts.sitesFile}${opts.tag ? ` with tag "${opts.tag}"` : ''}.`);
  return sites;
}

/**
 * The key that opens a site: its own (`api_key_env`, looked up like every key: environment, then
 * .env) or the shared TEMPLATE_MASTER_API_KEY.
 */
export function apiKeyFor(
  site: Site,
  shared: string | null,
  lookup: (envName: string) => { value: string } | null = (n) => (process.env[n] ? { value: process.env[n] } : null),
): string | null {
  if (site.apiKeyEnv) return lookup(site.apiKeyEnv)?.value ?? null;
  return shared;
}

export function clientFor(opts: FleetOptions, reporter: Reporter): SiteClient {
  // A fleet run prints messages, never stack traces, and undici builds an Error for every connection
  // it closes: capturing their stacks was ~10% of a 10,000-site push's CPU (bench/push profile).
  // --verbose (or KEYFLEET_DEBUG) keeps them for debugging.
  if (!opts.verbose && !process.env.KEYFLEET_DEBUG) Error.stackTraceLimit = 0;
  return createSiteClient({
    concurrency: parseCount(opts.concurrency, '--concurrency', 16),
    timeoutMs: parseTimeoutMs(opts.timeout),
    retries: parseCount(opts.retries, '--retries', 2, 0),
    allowHttp: opts.allowHttp === true,
    onRequest: opts.verbose
      ? (e) => reporter.verbose(`  ${e.method} ${e.url} #${e.attempt} → ${e.status ?? '-'} ${e.code ?? 'ok'} ${Math.round(e.durationMs)} ms`)
      : undefined,
  });
}

/** Masked form of each key, as runs and reports record them: never the value. */
export function maskedKeys(keys: Partial<Record<SettingName, string>>): Record<string, MaskedKey> {
  const out: Record<string, MaskedKey> = {};
  for (const [name, value] of Object.entries(keys)) if (value) out[name] = maskedKey(value);
  return out;
}

export const actor = (): string => {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
};

/** Moved to the engine (the dashboard runs pushes too); re-exported for the commands. */
export { workersFor } from '../engine/worker-pool.js';
