import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { sql } from './sql/kysely.js';
import { DashboardSessionStore } from './dashboard-sessions.js';
import type { FleetStore } from './fleet-store.js';
import { KeyVault, type VaultKeyProvider } from './key-vault.js';
import { SqlFleetStore } from './sql-fleet-store.js';
import { FINAL_STATES, claimantIsDead, maskedJson, newRunId, onlyMasked, ownerMayBeAlive, runFromRow, type RunRow } from './run-records.js';
import { RunSites } from './run-sites.js';
import { prepare, type StoreDb } from './sql/store-db.js';
import type { StateTables } from './sql/tables.js';
import type { NewRun, RunRecord, RunState, SiteProtocol, StateStore } from './state-store.js';

type Q = Kysely<StateTables>;

const COMMANDS = new Set(['push', 'verify', 'rollback', 'backup']);
/**
 * keyfleet's state on SQLite (the default, a local file) or Postgres (KEYFLEET_DB=postgres://…), one
 * implementation over `StoreDb`. Every site result is committed as it is recorded (alone, or with
 * its batch), so a killed process loses nothing it recorded. A run's state changes inside one
 * transaction that holds its row (Postgres: FOR UPDATE; SQLite: the IMMEDIATE transaction's write
 * lock), so two processes never both finish, interrupt or reopen a run.
 *
 * @example const db = openSqlite<StateTables>(path); await migrate(db, STATE_MIGRATION_SET);
 *          const store = new SqlStateStore(db, vault);
 */
export class SqlStateStore implements StateStore {
  readonly fleet: FleetStore;
  readonly sessions: DashboardSessionStore;
  private readonly vault: KeyVault;
  private readonly sites: RunSites;
  private readonly host = hostname();
  private readonly upsertProtocol;
  // The run_sites and vault halves, as they are.
  readonly recordSite: StateStore['recordSite'] = (runId, result) => this.sites.record(runId, result);
  readonly recordSites: StateStore['recordSites'] = (runId, results) => this.sites.recordMany(runId, results);
  readonly siteResults: StateStore['siteResults'] = (runId, opts) => this.sites.list(runId, opts);
  readonly claimSite: StateStore['claimSite'] = (runId, url, claim) => this.sites.claimSite(runId, url, claim);
  readonly saveKeyVersion: StateStore['saveKeyVersion'] = (values, by) => this.vault.save(values, by);
  readonly secretByFingerprint: StateStore['secretByFingerprint'] = (setting, fp) => this.vault.secretByFingerprint(setting, fp);
  readonly listKeyVersions: StateStore['listKeyVersions'] = () => this.vault.list();

  constructor(private readonly db: StoreDb<StateTables>, vault: VaultKeyProvider) {
    this.vault = new KeyVault(db, vault);
    this.sites = new RunSites(db);
    this.upsertProtocol = prepare(db.k, (k, p) =>
      k.insertInto('site_protocols').values({ url: p('url'), protocol: p('protocol'), detected_at: p('at') })
        .onConflict((oc) => oc.column('url').doUpdateSet({ protocol: p('protocol'), detected_at: p('at') })),
    );
    this.sessions = new DashboardSessionStore(db.k);
    this.fleet = new SqlFleetStore(db, vault);
  }

  get backend(): 'sqlite' | 'postgres' { return this.db.backend; }

  async createRun(run: NewRun): Promise<RunRecord> {
    if (!COMMANDS.has(run.command)) throw new Error(`Unknown run command "${String(run.command)}".`);
    const now = new Date();
    const row = {
      id: newRunId(now),
      command: run.command,
      dry_run: run.dry_run,
      state: 'running',
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
    await this.db.tx(async (trx) => {
      const insert = () => trx.insertInto('runs').values(row).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
      // Two runs in the same second share the id's time part; draw the random part again on a clash.
      while (Number((await insert()).numInsertedOrUpdatedRows ?? 0) === 0) row.id = newRunId(now);
      const total = await this.sites.insertPending(trx, row.id, run.sites);
      await trx.updateTable('runs').set({ total }).where('id', '=', row.id).execute();
    });
    return (await this.getRun(row.id)) as RunRecord;
  }

  async finishRun(runId: string, state: Exclude<RunState, 'running'>): Promise<RunRecord> {
    if (!FINAL_STATES.has(state)) throw new Error(`A run cannot finish as "${String(state)}".`);
    await this.db.tx(async (trx) => {
      await this.sites.requireRunning(trx, runId, true);
      await this.freeze(trx, runId, state, new Date().toISOString());
    });
    return (await this.getRun(runId)) as RunRecord;
  }

  async reopenRun(runId: string): Promise<RunRecord> {
    await this.db.tx(async (trx) => {
      const row = await this.sites.runRow(trx, runId, true);
      if (!row) throw new Error(`No run ${runId}.`);
      if (row.state === 'done') throw new Error(`Run ${runId} is done: there is nothing to resume.`);
      if (row.state === 'running' && ownerMayBeAlive(row, this.host)) {
        throw new Error(`Run ${runId} is still running (pid ${row.owner_pid} on ${row.owner_host}).`);
      }
      // The claims of a process known dead would only make the resume's jobs wait out their expiry.
      const claimants = await trx.selectFrom('run_sites').select('claimed_by').distinct().where('run_id', '=', runId)
        .where('status', '=', 'pending').where('claimed_by', 'is not', null).execute();
      const owner = row.state === 'interrupted' ? row : null;
      const dead = claimants.map((c) => c.claimed_by as string).filter((c) => claimantIsDead(c, this.host, owner));
      if (dead.length > 0) {
        await trx.updateTable('run_sites').set({ claimed_by: null, claimed_at: null }).where('run_id', '=', runId)
          .where('status', '=', 'pending').where(this.db.inList('claimed_by', dead)).execute();
      }
      const owned = { owner_pid: process.pid, owner_host: this.host, owner_heartbeat_at: null, coordination: randomUUID() };
      await trx.updateTable('runs').set({ state: 'running', finished_at: null, ...owned }).where('id', '=', runId).execute();
    });
    return (await this.getRun(runId)) as RunRecord;
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = await this.sites.runRow(this.db.k, id);
    return row && this.toRecord(row);
  }

  async listRuns(opts: { limit?: number } = {}): Promise<RunRecord[]> {
    const limit = opts.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer (got ${limit}).`);
    const rows = await this.db.k.selectFrom('runs').selectAll().orderBy('seq', 'desc').limit(limit).execute();
    return Promise.all(rows.map((row) => this.toRecord(row)));
  }

  async markInterrupted(opts: { staleAfterMs?: number } = {}): Promise<string[]> {
    const running = await this.db.k.selectFrom('runs').selectAll().where('state', '=', 'running').execute();
    const marked: string[] = [];
    for (const row of running) {
      if (ownerMayBeAlive(row, this.host, opts.staleAfterMs)) continue;
      // Re-checked under the lock: the owner may have finished it, or beaten, since the SELECT.
      const ended = await this.db.tx(async (trx) => {
        const now = await this.sites.runRow(trx, row.id, true);
        if (now?.state !== 'running' || ownerMayBeAlive(now, this.host, opts.staleAfterMs)) return false;
        await this.freeze(trx, row.id, 'interrupted', (await this.sites.lastWrite(trx, row.id)) ?? row.started_at);
        return true;
      });
      if (ended) marked.push(row.id);
    }
    return marked;
  }

  async siteProtocols(urls: readonly string[]): Promise<Map<string, SiteProtocol>> {
    if (urls.length === 0) return new Map();
    const rows = await this.db.k.selectFrom('site_protocols').select(['url', 'protocol']).where(this.db.inList('url', urls)).execute();
    return new Map(rows.map((r) => [r.url, r.protocol]));
  }

  async rememberProtocols(entries: ReadonlyArray<{ url: string; protocol: SiteProtocol }>): Promise<void> {
    if (entries.length === 0) return;
    // The last entry for a URL wins (and Postgres refuses one statement updating a row twice).
    const at = new Date().toISOString();
    // SQLite: one upsert per site, in order, synchronously; Postgres: one statement with the list bound whole.
    if (this.db.backend === 'sqlite') {
      return this.db.txNow((run) => entries.forEach(({ url, protocol }) => run(this.upsertProtocol, { url, protocol, at })));
    }
    const last = new Map(entries.map((e) => [e.url, e.protocol]));
    await sql`INSERT INTO site_protocols (url, protocol, detected_at)
      SELECT url, protocol, ${at}::text FROM unnest(${[...last.keys()]}::text[], ${[...last.values()]}::text[]) AS t(url, protocol)
      ON CONFLICT (url) DO UPDATE SET protocol = excluded.protocol, detected_at = excluded.detected_at`.execute(this.db.k);
  }

  async heartbeat(runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    const beat = { owner_heartbeat_at: new Date().toISOString() };
    await this.db.k.updateTable('runs').set(beat).where(this.db.inList('id', runIds)).where('state', '=', 'running').execute();
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Ends the run with counts taken from its rows; called inside a transaction holding the run. */
  private async freeze(trx: Q, runId: string, state: RunState, finishedAt: string): Promise<void> {
    const s = await this.sites.counts(trx, runId);
    await trx.updateTable('runs').set({ state, finished_at: finishedAt, ...s }).where('id', '=', runId).execute();
  }

  private async toRecord(row: RunRow): Promise<RunRecord> {
    return runFromRow(row, row.state === 'running' ? await this.sites.counts(this.db.k, row.id) : undefined);
  }
}
