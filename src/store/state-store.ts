/**
 * keyfleet's own state: what the CLI remembers between runs (runs, per-site results, the key vault).
 * This file is the contract the push pipeline codes against; `SqlStateStore` (sql-state-store.ts)
 * implements it on SQLite and on Postgres alike, opened by `openStateStore()`.
 *
 * Nothing here ever holds a key value in clear except `saveKeyVersion`'s input and
 * `secretByFingerprint`'s output: runs carry masked keys only, the vault stores sealed values.
 *
 * @example const run = await store.createRun({ ...newRun, sites }); await store.recordSite(run.id, result);
 */
import type { SettingName } from '../protocol/settings.js';
import type { DashboardSessionStore } from './dashboard-sessions.js';
import type { FleetStore } from './fleet-store.js';

export type SiteStatus = 'pending' | 'ok' | 'failed' | 'skipped' | 'unchanged';
export type RunState = 'running' | 'done' | 'halted' | 'cancelled' | 'interrupted';
export type RunCommand = 'push' | 'verify' | 'rollback' | 'backup';
export type VaultSetting = 'stripe_publishable_key' | 'stripe_secret_key' | 'stripe_webhook_secret' | 'stripe_price_id';

/** `prefix` (added): the key's public prefix (`sk_live_`, `rk_live_`, `whsec_`), so `rk_` keys display as such. */
export interface MaskedKey { last4: string; fingerprint: string; mode: 'test' | 'live' | null; prefix?: string }

export interface SiteError { code: string; http_status: number | null; message: string; hint: string }

export interface RunSummary { total: number; ok: number; failed: number; skipped: number; unchanged: number }

export interface RunRecord {
  /** Short, sortable, human-typable: `20261127-053412-k3f9` (UTC start time + 4 random characters). */
  id: string;
  command: RunCommand;
  dry_run: boolean;
  state: RunState;
  /** ISO-8601 UTC. */
  started_at: string;
  finished_at: string | null;
  /** The OS user name; the --sites-file path. */
  actor: string;
  sites_source: string | null;
  /** Keyed by setting name; masked only, never a value. */
  keys: Record<string, MaskedKey>;
  /** The command's options, sanitized by the caller (the store also masks anything secret-shaped). */
  options: Record<string, unknown>;
  key_version_id: string | null;
  /**
   * Added (migration 5): a random id drawn when the run is created and again when it is reopened. A
   * shared run's jobs carry it; a job of an older coordination is dropped (see `claimSite`).
   */
  coordination?: string | null;
  /** Derived from the site rows: live while running, frozen when the run ends. */
  summary: RunSummary;
}

/** What a site had before a push (for `rollback --run`). Values here are public ones only. */
export interface SiteSnapshot {
  publishable_key: string | null;
  price_id: string | null;
  /** Per setting name. */
  fingerprints: Record<string, string | null>;
  /** Added (issue 9): the protocol the site was spoken to in; absent = `keyfleet`. */
  protocol?: 'keyfleet' | 'seed';
  /**
   * Added (issue 9): settings whose value the site cannot tell (a seed site never reveals a secret):
   * their null fingerprint means "unknown", not "none", so a rollback cannot restore them from this.
   */
  unknown?: SettingName[];
  /** Added (issue 10): the site's authenticated view lists `atomic_write`. */
  atomic_write?: boolean;
}

export type SiteProtocol = 'keyfleet' | 'seed';

/** A setting written but not provable on this site's protocol, and why (issue 9). */
export interface Unverifiable { setting: SettingName; reason: string }

export interface SiteResult {
  url: string;
  status: SiteStatus;
  verified: boolean;
  attempts: number;
  duration_ms: number;
  error: SiteError | null;
  before: SiteSnapshot | null;
  /**
   * Added: the settings the push wrote to the site (in a dry run, would write) — names only, never a
   * value. Each write replaces the previous one's; absent when the writer did not say.
   */
  changes?: SettingName[];
  /** Added (issue 9): the protocol the site was spoken to in. */
  protocol?: 'keyfleet' | 'seed';
  /** Added (issue 9): settings written that the protocol cannot prove (a seed site's secret). */
  unverifiable?: Unverifiable[];
  /** Added (issue 9): why an `ok` site is not yet verified (e.g. workers still caching the old value). */
  pending_proof?: string;
  /**
   * Added (migration 8): who recorded the result — KEYFLEET_WORKER_NAME, else `<host>:<pid>`. The
   * store fills it in when the writer does not say; absent on rows written before it.
   */
  worker?: string | null;
}

export type NewRun = Omit<RunRecord, 'id' | 'state' | 'finished_at' | 'summary' | 'started_at' | 'coordination'> & {
  sites: string[];
};

export interface SiteClaim {
  /** The coordination the job was queued under (RunRecord.coordination). */
  coordination: string;
  /**
   * Who works the site: unique per job execution, so a job given out again does not inherit its
   * claims (`newClaimant()`: it names its process, so a resume releases the claims of a dead one).
   */
  claimant: string;
  /** A claim older than this is its worker's, dead: it can be taken over (the job expiry). */
  staleAfterMs: number;
}

export interface KeyVersion { id: string; keys: Record<string, MaskedKey>; created_at: string; created_by: string }

export type SavedKeyVersion = Omit<KeyVersion, 'created_by'>;

export interface StateStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Added: the dashboard's fleet registry, desired versions, audit log (fleet-store.ts), same database. */
  readonly fleet: FleetStore;
  /** Added: the dashboard's admin sessions (dashboard-sessions.ts), same database. */
  readonly sessions: DashboardSessionStore;
  /**
   * Inserts the run (state `running`, owned by this process) and one `pending` row per site, in one
   * transaction. A URL listed twice gets one row (its first position).
   */
  createRun(run: NewRun): Promise<RunRecord>;
  /**
   * Upserts the site's row (one per site per run, so counts never double); `before` is kept from the
   * first write that carries one (see RunSites). Throws unless the run is `running` (see `reopenRun`).
   */
  recordSite(runId: string, result: SiteResult): Promise<void>;
  /** recordSite for several sites in one transaction (a push's preflight records: one commit, not N). */
  recordSites(runId: string, results: readonly SiteResult[]): Promise<void>;
  /** Sets the final state and finished_at, and freezes the summary computed from the rows. */
  finishRun(runId: string, state: Exclude<RunState, 'running'>): Promise<RunRecord>;
  /**
   * Added: takes over an `interrupted`, `halted` or `cancelled` run (for `push --resume`): state back
   * to `running`, owned by this process, under a new `coordination`; the site claims of processes
   * known dead are released (see `claimSite`). Refuses a `done` run and one a live process still runs.
   */
  reopenRun(runId: string): Promise<RunRecord>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Newest first; 50 by default. */
  listRuns(opts?: { limit?: number }): Promise<RunRecord[]>;
  /**
   * In the original site order; `urls` keeps only those sites (a shared run's job reads its own);
   * `before: false` leaves out what each site held before the run (null): a report does not show it;
   * `before: 'only'` keeps only the sites that have one (a resume's stored befores, stored-before.ts).
   */
  siteResults(runId: string, opts?: { status?: SiteStatus[]; urls?: readonly string[]; before?: boolean | 'only' }):
    Promise<SiteResult[]>;
  /**
   * Runs left `running` by a dead process become `interrupted`; returns their ids. Dead: see
   * `ownerMayBeAlive` (this host: the pid; another: a heartbeat older than `staleAfterMs`, 30 s).
   */
  markInterrupted(opts?: { staleAfterMs?: number }): Promise<string[]>;
  /**
   * Added: the heartbeat of the dashboard coordinating these `running` runs (migration 4), so that
   * other dashboards sharing the database see it alive. createRun and reopenRun leave it unset.
   */
  heartbeat(runIds: readonly string[]): Promise<void>;
  /**
   * Added (migration 5): claims a site of a shared run for one job before it is worked, in one
   * conditional write; true when this caller may work it. False when the site is no longer pending,
   * another claim on it is younger than `staleAfterMs` (its job is alive, or died too recently to
   * tell), or the run is not `running` under `coordination` (the job is from before a resume).
   *
   * @example if (await store.claimSite(run.id, url, { coordination, claimant: jobRunId, staleAfterMs: 60_000 })) work(url);
   */
  claimSite(runId: string, url: string, claim: SiteClaim): Promise<boolean>;
  /** Added (migration 6, issue 9): the protocol each of these sites was last detected to speak. */
  siteProtocols(urls: readonly string[]): Promise<Map<string, SiteProtocol>>;
  /** Added (migration 6): remembers what a run detected, one transaction; the newest detection wins. */
  rememberProtocols(entries: ReadonlyArray<{ url: string; protocol: SiteProtocol }>): Promise<void>;
  /** Seals every value; the same set of fingerprints as an existing version returns that version. */
  saveKeyVersion(values: Partial<Record<VaultSetting, string>>, createdBy: string): Promise<SavedKeyVersion>;
  /** Decrypts a value keyfleet itself saved before; undefined when none has that fingerprint. */
  secretByFingerprint(setting: string, fingerprint: string): Promise<string | undefined>;
  /** Newest first. */
  listKeyVersions(): Promise<KeyVersion[]>;
  close(): Promise<void>;
}
