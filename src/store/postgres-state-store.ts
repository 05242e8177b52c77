import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DashboardSessionStore } from './dashboard-sessions.js';
import type { FleetStore } from './fleet-store.js';
import { PostgresDashboardSessions } from './postgres-dashboard-sessions.js';
import { PgDb, type PgQuery } from './postgres-db.js';
import { SqlFleetStore } from './sql-fleet-store.js'; // TRANSITIONAL
import { openPostgres } from './sql/postgres-db.js'; // TRANSITIONAL
import type { StateTables } from './sql/tables.js'; // TRANSITIONAL
import { PostgresKeyVault } from './postgres-key-vault.js';
import { PostgresRunSites } from './postgres-run-sites.js';
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
import { migrateStatePostgres } from './state-migrations.js';
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

export interface PostgresStateStoreOptions {
  vault: VaultKeyProvider;
  /** Schema holding the tables (created if missing); `public` by default. */
  schema?: string;
  log?: (msg: string) => void;
  poolSize?: number;
}

const COMMANDS = new Set(['push', 'verify', 'rollback', 'backup']);

/**
 * keyfleet's state on Postgres (KEYFLEET_DB=postgres://…), the same contract and the same rules
 * as sqlite-state-store.ts: every site result is its own committed write, so a killed process loses
 * nothing it recorded; run rows are locked (FOR UPDATE) wherever a state changes, so two
 * dashboards on one database never both finish or reopen a run.
 *
 * @example const store = new PostgresStateStore(url, { vault, schema: 'keyfleet' }); await store.migrate();
 */
export class PostgresStateStore implements StateStore {
  readonly backend = 'postgres' as const;
  readonly fleet: FleetStore;
  private readonly fleetDb: { close(): Promise<void> }; // TRANSITIONAL
  readonly sessions: DashboardSessionStore;
  readonly schema: string;
  private readonly db: PgDb;
  private readonly vault: PostgresKeyVault;
  private readonly sites: PostgresRunSites;
  private readonly host = hostname();

  constructor(connectionString: string, options: PostgresStateStoreOptions) {
    this.schema = options.schema ?? 'public';
    this.db = new PgDb(connectionString, this.schema, { poolSize: options.poolSize, log: options.log });
    this.vault = new PostgresKeyVault(this.db, options.vault);
    this.sites = new PostgresRunSites(this.db);
    const fleetDb = openPostgres<StateTables>(connectionString, this.schema, { appName: `keyfleet-fleet:${this.schema}`, poolSize: options.poolSize, log: options.log }).db; // TRANSITIONAL
    [this.fleet, this.fleetDb] = [new SqlFleetStore(fleetDb, options.vault), fleetDb]; // TRANSITIONAL
    this.sessions = new PostgresDashboardSessions(this.db);
  }

  async migrate(): Promise<void> {
    const client = await this.db.connect();
    try {
      await migrateStatePostgres(client, this.schema);
    } finally {
      client.release();
    }
    await this.db.assertSchema();
  }

  async createRun(run: NewRun): Promise<RunRecord> {
    if (!COMMANDS.has(run.command)) throw new Error(`Unknown run command "${String(run.command)}".`);
    const now = new Date();
    const id = await this.db.tx(async (q) => {
      let runId = newRunId(now);
      const insert = () =>
        q.run(
          `INSERT INTO runs (id, command, dry_run, state, started_at, actor, sites_source, keys_json, options_json, key_version_id, owner_pid, owner_host, coordination)
           VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
          [
            runId,
            run.command,
            run.dry_run,
            now.toISOString(),
            run.actor,
            run.sites_source,
            JSON.stringify(onlyMasked(run.keys)),
            maskedJson(run.options ?? {}),
            run.key_version_id,
            process.pid,
            this.host,
            randomUUID(),
          ],
        );
      // Two runs in the same second share the id's time part; draw the random part again on a clash.
      while ((await insert()) === 0) runId = newRunId(now);
      const total = await this.sites.insertPending(q, runId, run.sites);
      await q.run('UPDATE runs SET total = $1 WHERE id = $2', [total, runId]);
      return runId;
    });
    return (await this.getRun(id)) as RunRecord;
  }

  recordSite(runId: string, result: SiteResult): Promise<void> {
    return this.sites.record(runId, result);
  }

  recordSites(runId: string, results: readonly SiteResult[]): Promise<void> {
    // One statement for the whole batch: one round-trip, all or nothing (PostgresRunSites.recordMany).
    return this.sites.recordMany(runId, results);
  }

  async finishRun(runId: string, state: Exclude<RunState, 'running'>): Promise<RunRecord> {
    if (!FINAL_STATES.has(state)) throw new Error(`A run cannot finish as "${String(state)}".`);
    await this.db.tx(async (q) => {
      await this.sites.requireRunning(q, runId, true);
      await this.freeze(q, runId, state, new Date().toISOString());
    });
    return (await this.getRun(runId)) as RunRecord;
  }

  async reopenRun(runId: string): Promise<RunRecord> {
    await this.db.tx(async (q) => {
      const row = await q.one<RunRow>('SELECT * FROM runs WHERE id = $1 FOR UPDATE', [runId]);
      if (!row) throw new Error(`No run ${runId}.`);
      if (row.state === 'done') throw new Error(`Run ${runId} is done: there is nothing to resume.`);
      if (row.state === 'running' && ownerMayBeAlive(row, this.host)) {
        throw new Error(`Run ${runId} is still running (pid ${row.owner_pid} on ${row.owner_host}).`);
      }
      // The claims of a process known dead would only make the resume's jobs wait out their expiry.
      const claimants = await q.rows<{ claimed_by: string }>(
        `SELECT DISTINCT claimed_by FROM run_sites WHERE run_id = $1 AND status = 'pending' AND claimed_by IS NOT NULL`,
        [runId],
      );
      const owner = row.state === 'interrupted' ? row : null;
      const dead = claimants.map((c) => c.claimed_by).filter((c) => claimantIsDead(c, this.host, owner));
      if (dead.length > 0)
        await q.run(
          `UPDATE run_sites SET claimed_by = NULL, claimed_at = NULL
           WHERE run_id = $1 AND status = 'pending' AND claimed_by = ANY($2::text[])`,
          [runId, dead],
        );
      await q.run(
        `UPDATE runs SET state = 'running', finished_at = NULL, owner_pid = $1, owner_host = $2, owner_heartbeat_at = NULL,
           coordination = $4
         WHERE id = $3`,
        [process.pid, this.host, runId, randomUUID()],
      );
    });
    return (await this.getRun(runId)) as RunRecord;
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = await this.db.one<RunRow>('SELECT * FROM runs WHERE id = $1', [id]);
    return row && this.toRecord(row);
  }

  async listRuns(opts: { limit?: number } = {}): Promise<RunRecord[]> {
    const limit = opts.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`limit must be a positive integer (got ${limit}).`);
    const rows = await this.db.rows<RunRow>('SELECT * FROM runs ORDER BY seq DESC LIMIT $1', [limit]);
    return Promise.all(rows.map((row) => this.toRecord(row)));
  }

  siteResults(
    runId: string,
    opts: { status?: SiteStatus[]; urls?: readonly string[]; before?: boolean | 'only' } = {},
  ): Promise<SiteResult[]> {
    return this.sites.list(runId, opts.status, opts.urls, opts.before ?? true);
  }

  async markInterrupted(opts: { staleAfterMs?: number } = {}): Promise<string[]> {
    const running = await this.db.rows<RunRow>(`SELECT * FROM runs WHERE state = 'running'`);
    const marked: string[] = [];
    for (const row of running) {
      if (ownerMayBeAlive(row, this.host, opts.staleAfterMs)) continue;
      // Re-checked under the row lock: the owner may have finished it, or beaten, since the SELECT.
      const ended = await this.db.tx(async (q) => {
        const now = await q.one<RunRow>('SELECT * FROM runs WHERE id = $1 FOR UPDATE', [row.id]);
        if (now?.state !== 'running' || ownerMayBeAlive(now, this.host, opts.staleAfterMs)) return false;
        await this.freeze(
          q,
          row.id,
          'interrupted',
          (await this.sites.lastWrite(q, row.id)) ?? row.started_at,
        );
        return true;
      });
      if (ended) marked.push(row.id);
    }
    return marked;
  }

  async siteProtocols(urls: readonly string[]): Promise<Map<string, SiteProtocol>> {
    if (urls.length === 0) return new Map();
    const rows = await this.db.rows<{ url: string; protocol: SiteProtocol }>(
      'SELECT url, protocol FROM site_protocols WHERE url = ANY($1::text[])',
      [[...urls]],
    );
    return new Map(rows.map((r) => [r.url, r.protocol]));
  }

  async rememberProtocols(entries: ReadonlyArray<{ url: string; protocol: SiteProtocol }>): Promise<void> {
    if (entries.length === 0) return;
    // One statement for the batch; the last entry for a URL wins within it.
    const last = new Map(entries.map((e) => [e.url, e.protocol]));
    await this.db.run(
      `INSERT INTO site_protocols (url, protocol, detected_at)
       SELECT u, p, $3 FROM unnest($1::text[], $2::text[]) AS t(u, p)
       ON CONFLICT (url) DO UPDATE SET protocol = excluded.protocol, detected_at = excluded.detected_at`,
      [[...last.keys()], [...last.values()], new Date().toISOString()],
    );
  }

  async heartbeat(runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    await this.db.run(
      `UPDATE runs SET owner_heartbeat_at = $1 WHERE id = ANY($2::text[]) AND state = 'running'`,
      [new Date().toISOString(), [...runIds]],
    );
  }

  async claimSite(runId: string, url: string, claim: SiteClaim): Promise<boolean> {
    // One statement: a concurrent claim of the same row waits for this one, then finds it taken.
    const now = Date.now();
    const claimed = await this.db.run(
      `UPDATE run_sites SET claimed_by = $3, claimed_at = $4
       WHERE run_id = $1 AND url = $2 AND status = 'pending' AND (claimed_at IS NULL OR claimed_at < $5)
         AND EXISTS (SELECT 1 FROM runs WHERE id = $1 AND state = 'running' AND coordination = $6)`,
      [
        runId,
        url,
        claim.claimant,
        new Date(now).toISOString(),
        new Date(now - claim.staleAfterMs).toISOString(),
        claim.coordination,
      ],
    );
    return claimed === 1;
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
    await this.db.end().catch(() => undefined);
  }

  /** Ends the run with counts taken from its rows; called inside a transaction holding the run's row. */
  private async freeze(q: PgQuery, runId: string, state: RunState, finishedAt: string): Promise<void> {
    const s = await this.sites.counts(q, runId);
    await q.run(
      `UPDATE runs SET state = $1, finished_at = $2, total = $3, ok = $4, failed = $5, skipped = $6, unchanged = $7 WHERE id = $8`,
      [state, finishedAt, s.total, s.ok, s.failed, s.skipped, s.unchanged, runId],
    );
  }

  private async toRecord(row: RunRow): Promise<RunRecord> {
    return runFromRow(row, row.state === 'running' ? await this.sites.counts(this.db, row.id) : undefined);
  }
}
