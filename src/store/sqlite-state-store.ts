import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { ensurePrivateFile } from './private-file.js';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  FINAL_STATES,
  maskedJson,
  newRunId,
  onlyMasked,
  ownerMayBeAlive,
  claimantIsDead,
  runFromRow,
  type RunRow,
} from './run-records.js';
import type { DashboardSessionStore } from './dashboard-sessions.js';
import type { FleetStore } from './fleet-store.js';
import { SqliteDashboardSessions } from './sqlite-dashboard-sessions.js';
import { SqlFleetStore } from './sql-fleet-store.js'; // TRANSITIONAL
import { openSqlite } from './sql/sqlite-db.js'; // TRANSITIONAL
import type { StateTables } from './sql/tables.js'; // TRANSITIONAL
import { SqliteKeyVault } from './sqlite-key-vault.js';
import { SqliteRunSites } from './sqlite-run-sites.js';
import { migrateStateSqlite } from './state-migrations.js';
import type {
  NewRun,
  RunRecord,
  RunState,
  SiteClaim,
  SiteProtocol,
  SiteResult,
  SiteStatus,
  StateStore,
} from './state-store.js';
import type { VaultKeyProvider } from './vault.js';

export interface SqliteStateStoreOptions {
  /** The vault key, resolved lazily (see `openStateStore`). */
  vault: VaultKeyProvider;
  /** How long a write waits for another process's write lock before failing (SQLITE_BUSY). */
  busyTimeoutMs?: number;
}

const COMMANDS = new Set(['push', 'verify', 'rollback', 'backup']);

/**
 * keyfleet's state on a local SQLite file (the default backend). Every site result is its own
 * autocommit write, so a killed process loses nothing it recorded; WAL lets `history` read while a
 * push writes, and busy_timeout makes a second writer wait instead of failing.
 *
 * @example const store = new SqliteStateStore(path, { vault }); await store.migrate();
 */
export class SqliteStateStore implements StateStore {
  readonly backend = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly vault: SqliteKeyVault;
  private readonly sites: SqliteRunSites;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly host = hostname();
  readonly fleet: FleetStore;
  private readonly fleetDb: { close(): Promise<void> }; // TRANSITIONAL
  readonly sessions: DashboardSessionStore;

  constructor(
    readonly path: string,
    options: SqliteStateStoreOptions,
  ) {
    if (path === ':memory:') throw new Error('TRANSITIONAL: no in-memory state store until the state store moves onto Kysely.');
    if (path !== ':memory:') {
      mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
      ensurePrivateFile(path);
    }
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      this.db.pragma('journal_mode = WAL');
      // In WAL mode NORMAL skips the fsync per commit: a commit is in the OS once written, so a killed
      // process loses nothing; only a power cut can drop the last commits, never corrupt the file.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
    } catch (err) {
      this.db.close(); // the caller gets no store to close, so release the file handle here
      throw err;
    }
    this.vault = new SqliteKeyVault(this.db, options.vault, (sql) => this.stmt(sql));
    this.sites = new SqliteRunSites(this.db, (sql) => this.stmt(sql));
    this.fleet = new SqlFleetStore((this.fleetDb = openSqlite<StateTables>(path, { foreignKeys: true, relaxedSync: true, busyTimeoutMs: options.busyTimeoutMs })), options.vault); // TRANSITIONAL
    this.sessions = new SqliteDashboardSessions((sql) => this.stmt(sql));
  }

  async migrate(): Promise<void> {
    migrateStateSqlite(this.db);
  }

  async createRun(run: NewRun): Promise<RunRecord> {
    if (!COMMANDS.has(run.command)) throw new Error(`Unknown run command "${String(run.command)}".`);
    const insertRun = this.stmt(
      `INSERT INTO runs (id, command, dry_run, state, started_at, actor, sites_source, keys_json, options_json,
         key_version_id, owner_pid, owner_host, coordination)
       VALUES (@id, @command, @dry_run, 'running', @started_at, @actor, @sites_source, @keys_json, @options_json,
         @key_version_id, @owner_pid, @owner_host, @coordination)
       ON CONFLICT (id) DO NOTHING`,
    );
    const now = new Date();
    const row = {
      id: newRunId(now),
      command: run.command,
      dry_run: run.dry_run ? 1 : 0,
      started_at: now.toISOString(),
      actor: run.actor,
      sites_source: run.sites_source,
      keys_json: JSON.stringify(onlyMasked(run.keys)),
      options_json: maskedJson(run.options ?? {}),
      key_version_id: run.key_version_id,
      owner_pid: process.pid,
      owner_host: this.host,
      coordination: randomUUID(),
    };
    // One transaction for the run and all its rows: 50,000 sites cost one commit, not 50,000.
    this.db
      .transaction(() => {
        // Two runs in the same second share the id's time part; draw the random part again on a clash.
        while (insertRun.run(row).changes === 0) row.id = newRunId(now);
        const total = this.sites.insertPending(row.id, run.sites);
        this.stmt('UPDATE runs SET total = ? WHERE id = ?').run(total, row.id);
      })
      .immediate();
    return (await this.getRun(row.id)) as RunRecord;
  }

  async recordSite(runId: string, result: SiteResult): Promise<void> {
    this.sites.record(runId, result);
  }

  async recordSites(runId: string, results: readonly SiteResult[]): Promise<void> {
    this.db.transaction(() => {
      for (const r of results) this.sites.record(runId, r);
    })();
  }

  async finishRun(runId: string, state: Exclude<RunState, 'running'>): Promise<RunRecord> {
    if (!FINAL_STATES.has(state)) throw new Error(`A run cannot finish as "${String(state)}".`);
    this.db
      .transaction(() => {
        this.sites.requireRunning(runId);
        this.freeze(runId, state, new Date().toISOString());
      })
      .immediate();
    return (await this.getRun(runId)) as RunRecord;
  }

  async reopenRun(runId: string): Promise<RunRecord> {
    this.db
      .transaction(() => {
        const row = this.runRow(runId);
        if (!row) throw new Error(`No run ${runId}.`);
        if (row.state === 'done') throw new Error(`Run ${runId} is done: there is nothing to resume.`);
        if (row.state === 'running' && ownerMayBeAlive(row, this.host)) {
          throw new Error(`Run ${runId} is still running (pid ${row.owner_pid} on ${row.owner_host}).`);
        }
        // The claims of a process known dead would only make the resume's jobs wait out their expiry.
        const claimants = this.stmt(
          `SELECT DISTINCT claimed_by FROM run_sites WHERE run_id = ? AND status = 'pending' AND claimed_by IS NOT NULL`,
        ).all(runId) as Array<{ claimed_by: string }>;
        const owner = row.state === 'interrupted' ? row : null;
        for (const { claimed_by } of claimants) {
          if (!claimantIsDead(claimed_by, this.host, owner)) continue;
          this.stmt(
            `UPDATE run_sites SET claimed_by = NULL, claimed_at = NULL
             WHERE run_id = ? AND status = 'pending' AND claimed_by = ?`,
          ).run(runId, claimed_by);
        }
        this.stmt(
          `UPDATE runs SET state = 'running', finished_at = NULL, owner_pid = ?, owner_host = ?, owner_heartbeat_at = NULL,
             coordination = ?
           WHERE id = ?`,
        ).run(process.pid, this.host, randomUUID(), runId);
      })
      .immediate();
    return (await this.getRun(runId)) as RunRecord;
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = this.runRow(id);
    return row && this.toRecord(row);
  }

  async listRuns(opts: { limit?: number } = {}): Promise<RunRecord[]> {
    const limit = opts.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`limit must be a positive integer (got ${limit}).`);
    const sql = 'SELECT * FROM runs ORDER BY seq DESC LIMIT ?';
    return (this.stmt(sql).all(limit) as RunRow[]).map((row) => this.toRecord(row));
  }

  async siteResults(
    runId: string,
    opts: { status?: SiteStatus[]; urls?: readonly string[]; before?: boolean | 'only' } = {},
  ): Promise<SiteResult[]> {
    return this.sites.list(runId, opts.status, opts.urls, opts.before ?? true);
  }

  async markInterrupted(opts: { staleAfterMs?: number } = {}): Promise<string[]> {
    const running = this.stmt(`SELECT * FROM runs WHERE state = 'running'`).all() as RunRow[];
    const marked: string[] = [];
    for (const row of running) {
      if (ownerMayBeAlive(row, this.host, opts.staleAfterMs)) continue;
      // Re-checked under the write lock: the owner may have finished it, or beaten, since the SELECT.
      const ended = this.db
        .transaction(() => {
          const now = this.runRow(row.id);
          if (now?.state !== 'running' || ownerMayBeAlive(now, this.host, opts.staleAfterMs)) return false;
          this.freeze(row.id, 'interrupted', this.sites.lastWrite(row.id) ?? row.started_at);
          return true;
        })
        .immediate();
      if (ended) marked.push(row.id);
    }
    return marked;
  }

  async siteProtocols(urls: readonly string[]): Promise<Map<string, SiteProtocol>> {
    if (urls.length === 0) return new Map();
    const rows = this.stmt(
      'SELECT url, protocol FROM site_protocols WHERE url IN (SELECT value FROM json_each(?))',
    ).all(JSON.stringify(urls)) as Array<{ url: string; protocol: SiteProtocol }>;
    return new Map(rows.map((r) => [r.url, r.protocol]));
  }

  async rememberProtocols(entries: ReadonlyArray<{ url: string; protocol: SiteProtocol }>): Promise<void> {
    if (entries.length === 0) return;
    const at = new Date().toISOString();
    const upsert = this.stmt(
      `INSERT INTO site_protocols (url, protocol, detected_at) VALUES (?, ?, ?)
       ON CONFLICT (url) DO UPDATE SET protocol = excluded.protocol, detected_at = excluded.detected_at`,
    );
    this.db.transaction(() => {
      for (const e of entries) upsert.run(e.url, e.protocol, at);
    })();
  }

  async heartbeat(runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    this.stmt(
      `UPDATE runs SET owner_heartbeat_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND state = 'running'`,
    ).run(new Date().toISOString(), JSON.stringify(runIds));
  }

  async claimSite(runId: string, url: string, claim: SiteClaim): Promise<boolean> {
    const now = Date.now();
    const { changes } = this.stmt(
      `UPDATE run_sites SET claimed_by = ?, claimed_at = ?
       WHERE run_id = ? AND url = ? AND status = 'pending' AND (claimed_at IS NULL OR claimed_at < ?)
         AND EXISTS (SELECT 1 FROM runs WHERE id = ? AND state = 'running' AND coordination = ?)`,
    ).run(
      claim.claimant,
      new Date(now).toISOString(),
      runId,
      url,
      new Date(now - claim.staleAfterMs).toISOString(),
      runId,
      claim.coordination,
    );
    return changes === 1;
  }

  saveKeyVersion(
    ...args: Parameters<StateStore['saveKeyVersion']>
  ): ReturnType<StateStore['saveKeyVersion']> {
    return this.vault.save(...args);
  }

  secretByFingerprint(setting: string, fingerprint: string): Promise<string | undefined> {
    return this.vault.secretByFingerprint(setting, fingerprint);
  }

  listKeyVersions(): ReturnType<StateStore['listKeyVersions']> {
    return this.vault.list();
  }

  async close(): Promise<void> {
    await this.fleetDb.close(); // TRANSITIONAL
    if (this.db.open) this.db.close();
  }

  private runRow(id: string): RunRow | undefined {
    return this.stmt('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  }

  /** Ends the run with counts taken from its rows; called inside a transaction. */
  private freeze(runId: string, state: RunState, finishedAt: string): void {
    const s = this.sites.counts(runId);
    this.stmt(
      `UPDATE runs SET state = ?, finished_at = ?, total = ?, ok = ?, failed = ?, skipped = ?, unchanged = ?
       WHERE id = ?`,
    ).run(state, finishedAt, s.total, s.ok, s.failed, s.skipped, s.unchanged, runId);
  }

  private toRecord(row: RunRow): RunRecord {
    return runFromRow(row, row.state === 'running' ? this.sites.counts(row.id) : undefined);
  }

  /** Statements are prepared once, on first use: the tables exist only after migrate(). */
  private stmt(sql: string): Database.Statement {
    if (!this.db.open) throw new Error("keyfleet's state store is closed.");
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}
