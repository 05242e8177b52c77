import { randomInt, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { maskSecrets } from '../protocol/fingerprint.js';
import { SETTINGS, type SettingName } from '../protocol/settings.js';
import type { Selectable } from 'kysely';
import type { RunSitesTable, RunsTable } from './sql/tables.js';
import type { RunRecord, RunState, RunSummary, SiteError, SiteResult, SiteStatus } from './state-store.js';

/**
 * The state store's rules that are not SQL: run ids, the mapping between records and the `runs` /
 * `run_sites` rows, masking, and how a run's owner or a site's claimant is judged alive.
 */

export const SITE_STATUSES: ReadonlySet<SiteStatus> = new Set(['pending', 'ok', 'failed', 'skipped', 'unchanged']);
export const FINAL_STATES: ReadonlySet<RunState> = new Set(['done', 'halted', 'cancelled', 'interrupted']);

/** Lower case letters and digits minus the ones read aloud wrongly (i, l, o, u): safe to type from a screen. */
const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * `20261127-053412-k3f9`: the UTC start second, so ids sort by time, plus 4 random characters
 * (about a million per second) so two runs started together still differ.
 */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let suffix = '';
  for (let i = 0; i < 4; i++) suffix += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return `${stamp}-${suffix}`;
}

export type RunRow = Selectable<RunsTable>;
type OwnerIds = Pick<RunRow, 'owner_pid' | 'owner_host'>;

/** A `run_sites` row as read back; `before_json` is left out of a report's read. */
export type SiteRow = Pick<
  Selectable<RunSitesTable>,
  'url' | 'status' | 'verified' | 'attempts' | 'duration_ms' | 'error_json' | 'changes_json' | 'worker'
> & { before_json?: string | null };

/** `live` replaces the frozen counts of a run that is still running. */
export function runFromRow(row: RunRow, live?: RunSummary): RunRecord {
  return {
    id: row.id, command: row.command as RunRecord['command'], dry_run: Boolean(row.dry_run), state: row.state as RunState,
    started_at: row.started_at, finished_at: row.finished_at, actor: row.actor, sites_source: row.sites_source,
    keys: JSON.parse(row.keys_json) as RunRecord['keys'],
    options: JSON.parse(row.options_json) as RunRecord['options'],
    key_version_id: row.key_version_id,
    coordination: row.coordination ?? null,
    summary: live ?? { total: row.total, ok: row.ok, failed: row.failed, skipped: row.skipped, unchanged: row.unchanged },
  };
}

export function siteFromRow(row: SiteRow): SiteResult {
  // `changes_json` holds the settings written, and (issue 9) how the site was spoken to and what could
  // not be proven: an array when there is nothing else (every row written before), else an object.
  const proof = row.changes_json === null ? {} : (JSON.parse(row.changes_json) as SettingName[] | Partial<SiteResult>);
  return {
    url: row.url, status: row.status as SiteStatus, verified: Boolean(row.verified),
    attempts: row.attempts, duration_ms: row.duration_ms,
    error: row.error_json === null ? null : (JSON.parse(row.error_json) as SiteError),
    before: row.before_json == null ? null : (JSON.parse(row.before_json) as SiteResult['before']),
    ...(Array.isArray(proof) ? { changes: proof } : proof),
    ...(row.worker ? { worker: row.worker } : {}),
  };
}


/**
 * This process's name in per-site results (migration 8): KEYFLEET_WORKER_NAME (trimmed, at most 100
 * characters), else `<host>:<pid>`.
 */
export function workerName(env: NodeJS.ProcessEnv = process.env): string {
  // The host name is a system call: asked once, not once per site result.
  return env.KEYFLEET_WORKER_NAME?.trim().slice(0, 100) || `${(thisHost ??= hostname())}:${process.pid}`;
}
let thisHost: string | undefined;

/**
 * `changes` as stored in `changes_json`: setting names only, so a caller that put a value there by
 * mistake gets an error instead of a secret in the database (the error does not quote it).
 */
export function changesJson(result: SiteResult): string | null {
  const extra = result.protocol !== undefined || result.unverifiable !== undefined || result.pending_proof !== undefined;
  if (result.changes === undefined && !extra) return null;
  const changes = result.changes ?? [];
  const names = (list: unknown) => Array.isArray(list) && list.every((n) => Object.hasOwn(SETTINGS, n as string));
  if (!names(changes) || (result.unverifiable !== undefined && !names(result.unverifiable.map((u) => u.setting)))) {
    throw new Error(`The changes of ${result.url}'s result must be setting names (${Object.keys(SETTINGS).join(', ')}).`);
  }
  if (!extra) return JSON.stringify(changes);
  // Reasons are ours (fixed sentences), never a site's text: no value can reach them.
  const { protocol, unverifiable, pending_proof } = result;
  return JSON.stringify({ changes, protocol, unverifiable, pending_proof });
}

/**
 * JSON for options and site errors, with anything secret-shaped masked: the caller is meant to pass
 * sanitized values, and error text relayed from a site may quote a key, so the store checks again.
 */
export function maskedJson(value: unknown): string {
  return maskSecrets(JSON.stringify(value));
}

/** Keeps only the masked fields, so a caller's stray `value` can never reach the database. */
export function onlyMasked(keys: RunRecord['keys']): RunRecord['keys'] {
  const out: RunRecord['keys'] = {};
  for (const [setting, k] of Object.entries(keys)) {
    out[setting] = { last4: String(k.last4).slice(-4), fingerprint: String(k.fingerprint), mode: k.mode ?? null };
    if (k.prefix !== undefined) out[setting].prefix = String(k.prefix);
  }
  return out;
}

/**
 * Whether the process that owns a `running` run may still be writing it. A pid on this host is
 * checked directly: a dead one is dead whatever its heartbeat says (a restart right after kill -9
 * need not wait). Another host's owner is judged by its heartbeat (migration 4): fresh means alive,
 * older than `staleAfterMs` (30 s by default) means dead. Without a heartbeat (the CLI does not beat), another host's
 * run, or a pid that exists but is not ours to signal (EPERM), counts as alive, because marking a
 * live run interrupted would let two processes write it.
 */
export function ownerMayBeAlive(
  row: OwnerIds & Pick<RunRow, 'owner_heartbeat_at'>, thisHost: string, staleAfterMs = 30_000, now = Date.now(),
): boolean {
  const { owner_pid: pid, owner_host: host, owner_heartbeat_at: beat } = row;
  if (host !== null && host !== thisHost) {
    return beat === null || beat === undefined || now - Date.parse(beat) <= staleAfterMs;
  }
  if (pid === null) return false;
  if (pid === process.pid) return true;
  const code = signalError(pid);
  return code === undefined || code === 'EPERM';
}

/** Why signal 0 could not reach `pid` (ESRCH: no such process; EPERM: not ours), undefined if it could. */
function signalError(pid: number): string | undefined {
  try {
    process.kill(pid, 0);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
}

/**
 * A new claimant of sites (migration 5): `<host> <pid> <random>`, unique per job execution, and
 * naming its process so that a resume can release the claims of a process known dead.
 */
export function newClaimant(): string {
  return `${hostname()} ${process.pid} ${randomUUID()}`;
}

/**
 * Whether the process behind a site claim is known dead, so its claims need not wait out the job
 * expiry: a pid on this host that no longer runs, or the run's previous owner when the run was
 * `interrupted` (that owner was judged dead). Anything else, another host's worker included, may be
 * alive: its claim goes stale with the job expiry.
 */
export function claimantIsDead(claimant: string, thisHost: string, interruptedOwner: OwnerIds | null): boolean {
  const [, host, pidText] = /^(.+) (\d+) [^ ]+$/.exec(claimant) ?? [];
  const pid = Number(pidText);
  if (host === undefined) return false;
  if (interruptedOwner && host === interruptedOwner.owner_host && pid === interruptedOwner.owner_pid) return true;
  return host === thisHost && pid !== process.pid && signalError(pid) === 'ESRCH';
}
