import { sql } from './sql/kysely.js';
import type { ExpressionBuilder, Kysely } from 'kysely';
import { SITE_STATUSES, changesJson, maskedJson, siteFromRow, workerName, type RunRow } from './run-records.js';
import { affected, prepare, type StoreDb } from './sql/store-db.js';
import type { StateTables } from './sql/tables.js';
import type { RunSummary, SiteClaim, SiteResult, SiteStatus, StateStore } from './state-store.js';

type Q = Kysely<StateTables>;

/** One site's result as the prepared statements take it. */
type SiteValues = Record<
  'run' | 'url' | 'status' | 'verified' | 'attempts' | 'duration_ms' | 'error_json' | 'before_json' | 'changes_json' | 'at' | 'worker',
  unknown
>;

/**
 * The `run_sites` half of the state store: one row per site per run, keyed (run_id, url), with
 * `position` keeping the order the sites were given in. This is the hot path of a push (one write
 * per site), so the write is one prepared UPDATE, and a batch of them is one transaction.
 */
export class RunSites {
  private readonly pg: boolean;
  /**
   * Overwrites the row, so however often a site is written it counts once. `before` is kept from the
   * first write that had one: a resumed run re-reads a site it may have half-pushed, and that second
   * reading is not what the site had before the run. The EXISTS refuses a write to a finished run,
   * whose frozen summary would otherwise disagree with its rows; on Postgres it holds the run row
   * FOR SHARE, so a concurrent finishRun (FOR UPDATE) waits for the write, or the write sees it ended.
   */
  private readonly update;
  /** A site that was not in the run's list: appended after its rows. */
  private readonly append;
  private readonly claim;
  private readonly runById;

  constructor(private readonly db: StoreDb<StateTables>) {
    this.pg = db.backend === 'postgres';
    type P = (name: keyof SiteValues | 'claimant' | 'coordination' | 'stale') => never;
    // What a write sets, the same for an UPDATE and an append.
    const written = (p: P) => ({
      status: p('status'), verified: p('verified'), attempts: p('attempts'), duration_ms: p('duration_ms'),
      error_json: p('error_json'), before_json: p('before_json'), changes_json: p('changes_json'),
      updated_at: p('at'), worker: p('worker'),
    });
    const runIsRunning = (eb: ExpressionBuilder<StateTables, 'run_sites'>, p: P) =>
      eb.selectFrom('runs').select(sql`1`.as('one')).where('id', '=', p('run')).where('state', '=', 'running');
    this.update = prepare(db.k, (k, p) =>
      k.updateTable('run_sites').set({ ...written(p), before_json: sql<string>`COALESCE(before_json, ${p('before_json')})` })
        .where('run_id', '=', p('run')).where('url', '=', p('url'))
        .where((eb) => eb.exists(runIsRunning(eb, p).$if(this.pg, (q) => q.forShare()))),
    );
    this.append = prepare(db.k, (k, p) =>
      k.insertInto('run_sites').values({
        run_id: p('run'),
        url: p('url'),
        position: (eb) =>
          eb.selectFrom('run_sites').select(sql<number>`COALESCE(MAX(position) + 1, 0)`.as('n')).where('run_id', '=', p('run')),
        ...written(p),
      }),
    );
    this.runById = prepare(db.k, (k, p) => k.selectFrom('runs').select('state').where('id', '=', p('id')));
    this.claim = prepare(db.k, (k, p) =>
      k.updateTable('run_sites').set({ claimed_by: p('claimant'), claimed_at: p('at') })
        .where('run_id', '=', p('run')).where('url', '=', p('url')).where('status', '=', 'pending')
        .where((eb) => eb.or([eb('claimed_at', 'is', null), eb('claimed_at', '<', p('stale'))]))
        .where((eb) => eb.exists(runIsRunning(eb, p).where('coordination', '=', p('coordination')))),
    );
  }

  /**
   * Inserts one `pending` row per distinct URL (a repeated URL keeps its first position); returns the
   * count. One statement for the whole list, bound as one parameter: 50,000 sites are one write.
   */
  async insertPending(trx: Q, runId: string, sites: readonly string[]): Promise<number> {
    const list = this.pg
      ? sql`unnest(${[...sites]}::text[]) WITH ORDINALITY AS t(url, pos)`
      : sql`(SELECT value AS url, key + 1 AS pos FROM json_each(${JSON.stringify(sites)})) AS t`;
    // `WHERE true`: SQLite's grammar needs it between a SELECT and ON CONFLICT.
    const r = await sql`INSERT INTO run_sites (run_id, url, position, status)
      SELECT ${runId}, t.url, t.pos - 1, 'pending' FROM ${list} WHERE true ORDER BY t.pos
      ON CONFLICT DO NOTHING`.execute(trx);
    return Number(r.numAffectedRows ?? 0n);
  }

  /** One site, its own write: the UPDATE alone, unless the site is new or the run is not running. */
  async record(runId: string, result: SiteResult): Promise<void> {
    const v = values(runId, result, new Date().toISOString());
    if (affected(await this.db.k.executeQuery(this.update(v))) === 1) return;
    // The slow path: say why nothing matched, or append a site that was not in the original list.
    await this.db.tx(async (trx) => {
      await this.requireRunning(trx, runId, true);
      await this.write(trx, v);
    });
  }

  /**
   * Several results, applied as recording each in turn would: a URL given twice takes its last
   * result, with `before` from the first that had one; a URL not in the run is appended after its
   * rows, in the order given. Throws, writing nothing, unless the run is `running`. SQLite: one
   * transaction of prepared writes; Postgres: one statement (recordManyPg), not a round-trip per site.
   */
  async recordMany(runId: string, results: readonly SiteResult[]): Promise<void> {
    if (results.length === 0) return;
    const at = new Date().toISOString();
    const all = results.map((r) => values(runId, r, at));
    if (this.pg) return this.recordManyPg(runId, all, at);
    // Synchronous once it is this batch's turn: no promise per site (see StoreDb.txNow).
    await this.db.txNow((run, rows) => {
      for (const v of all) {
        if (run(this.update, v) === 1) continue;
        // Nothing matched: the run is not running (throws, so the batch writes nothing), or the site is new.
        checkRunning(rows(this.runById, { id: runId })[0] as Pick<RunRow, 'state'> | undefined, runId);
        run(this.append, v);
      }
    });
  }

  /** The claim's one conditional write (see StateStore.claimSite); a concurrent claim waits, then finds it taken. */
  async claimSite(runId: string, url: string, { claimant, coordination, staleAfterMs }: SiteClaim): Promise<boolean> {
    const now = Date.now();
    const at = new Date(now).toISOString();
    const stale = new Date(now - staleAfterMs).toISOString();
    return affected(await this.db.k.executeQuery(this.claim({ run: runId, url, claimant, coordination, at, stale }))) === 1;
  }

  /** In position order; `statuses` and `urls` narrow it (a shared run's job reads only its own sites). */
  async list(runId: string, opts: Parameters<StateStore['siteResults']>[1] = {}): Promise<SiteResult[]> {
    const { status: statuses, urls, before: withBefore = true } = opts;
    for (const s of statuses ?? []) if (!SITE_STATUSES.has(s)) throw new Error(`Unknown site status "${String(s)}".`);
    if (statuses?.length === 0 || urls?.length === 0) return [];
    const rows = await this.db.k
      .selectFrom('run_sites')
      .select(['url', 'status', 'verified', 'attempts', 'duration_ms', 'error_json', 'changes_json', 'worker'])
      // For a report: what each site held before is not in it, and at 50,000 sites it is most of the rows' memory.
      .$if(withBefore !== false, (q) => q.select('before_json'))
      .where('run_id', '=', runId)
      .$if(statuses !== undefined, (q) => q.where('status', 'in', statuses as SiteStatus[]))
      .$if(urls !== undefined, (q) => q.where(this.db.inList('url', urls as string[])))
      .$if(withBefore === 'only', (q) => q.where('before_json', 'is not', null)).orderBy('position').execute();
    return rows.map(siteFromRow);
  }

  /** The summary, counted from the rows (never from a tally kept on the side). */
  async counts(q: Q, runId: string): Promise<RunSummary> {
    const rows = await q.selectFrom('run_sites').select((eb) => ['status', eb.fn.countAll<number | string>().as('n')])
      .where('run_id', '=', runId).groupBy('status').execute();
    const s: RunSummary = { total: 0, ok: 0, failed: 0, skipped: 0, unchanged: 0 };
    // `pending` rows count in the total only.
    for (const { status, n } of rows) {
      s.total += Number(n);
      if (status !== 'pending' && status in s) s[status as keyof RunSummary] += Number(n);
    }
    return s;
  }

  /** When the run last recorded a site: the best estimate of when a dead process stopped. */
  async lastWrite(q: Q, runId: string): Promise<string | null> {
    const row = await q.selectFrom('run_sites').select((eb) => eb.fn.max('updated_at').as('at')).where('run_id', '=', runId)
      .executeTakeFirst();
    return row?.at ?? null;
  }

  /**
   * The run's row. `lock` (Postgres) holds it FOR UPDATE to the end of the transaction, for a change
   * of its state; SQLite's IMMEDIATE transaction already excludes every other writer.
   */
  runRow(q: Q, runId: string, lock = false): Promise<RunRow | undefined> {
    return q.selectFrom('runs').selectAll().where('id', '=', runId).$if(this.pg && lock, (b) => b.forUpdate()).executeTakeFirst();
  }

  /** Throws unless the run exists and is running; `lock` as for runRow. */
  async requireRunning(q: Q, runId: string, lock = false): Promise<void> {
    checkRunning(await this.runRow(q, runId, lock), runId);
  }

  /**
   * recordMany in one statement, the sites given as one array per column. The run row is held FOR
   * SHARE, like record's, so a concurrent finishRun waits for the batch; data-modifying CTEs run to
   * completion whether or not the final SELECT reads them.
   */
  private async recordManyPg(runId: string, all: SiteValues[], at: string): Promise<void> {
    const col = (name: keyof SiteValues) => all.map((v) => v[name]);
    const { rows } = await sql<{ running: number }>`
      WITH run AS (
        SELECT id FROM runs WHERE id = ${runId} AND state = 'running' FOR SHARE
      ), given AS (
        SELECT * FROM unnest(${col('url')}::text[], ${col('status')}::text[], ${col('verified')}::boolean[],
          ${col('attempts')}::integer[], ${col('duration_ms')}::integer[], ${col('error_json')}::text[],
          ${col('before_json')}::text[], ${col('changes_json')}::text[], ${col('worker')}::text[]) WITH ORDINALITY
          AS t(url, status, verified, attempts, duration_ms, error_json, before_json, changes_json, worker, ord)
      ), input AS (
        SELECT DISTINCT ON (url) url, status, verified, attempts, duration_ms, error_json, changes_json, worker,
          first_value(before_json) OVER (PARTITION BY url ORDER BY before_json IS NULL, ord) AS before_json,
          min(ord) OVER (PARTITION BY url) AS first_ord
        FROM given WHERE EXISTS (SELECT 1 FROM run)
        ORDER BY url, ord DESC
      ), updated AS (
        UPDATE run_sites s SET status = i.status, verified = i.verified, attempts = i.attempts,
          duration_ms = i.duration_ms, error_json = i.error_json, before_json = COALESCE(s.before_json, i.before_json),
          changes_json = i.changes_json, updated_at = ${at}, worker = i.worker
        FROM input i WHERE s.run_id = ${runId} AND s.url = i.url
      ), appended AS (
        INSERT INTO run_sites (run_id, url, position, status, verified, attempts, duration_ms, error_json,
          before_json, changes_json, updated_at, worker)
        SELECT ${runId}::text, i.url,
          (SELECT COALESCE(MAX(position) + 1, 0) FROM run_sites WHERE run_id = ${runId})
            + ROW_NUMBER() OVER (ORDER BY i.first_ord) - 1,
          i.status, i.verified, i.attempts, i.duration_ms, i.error_json, i.before_json, i.changes_json, ${at}::text, i.worker
        FROM input i WHERE NOT EXISTS (SELECT 1 FROM run_sites s WHERE s.run_id = ${runId} AND s.url = i.url)
      )
      SELECT (SELECT COUNT(*) FROM run)::int AS running`.execute(this.db.k);
    if (rows[0]?.running !== 1) {
      await this.requireRunning(this.db.k, runId); // throws: no such run, or it is not running
      throw new Error(`Run ${runId} changed state while its sites were recorded; nothing was written.`);
    }
  }

  private async write(trx: Q, v: SiteValues): Promise<void> {
    if (affected(await trx.executeQuery(this.update(v))) === 0) await trx.executeQuery(this.append(v));
  }
}

function checkRunning(row: Pick<RunRow, 'state'> | undefined, runId: string): void {
  if (!row) throw new Error(`No run ${runId}.`);
  if (row.state !== 'running') throw new Error(`Run ${runId} is ${row.state}: reopen it before recording sites.`);
}

/** Checks at runtime what TypeScript cannot guarantee at the boundary (a caller in plain JS, a cast). */
function values(runId: string, result: SiteResult, at: string): SiteValues {
  if (!SITE_STATUSES.has(result.status)) throw new Error(`Unknown site status "${String(result.status)}".`);
  if (typeof result.url !== 'string' || result.url === '') throw new Error('A site result needs a url.');
  // The worker a result is recorded under: its own, else this process's.
  const worker = typeof result.worker === 'string' ? result.worker.trim().slice(0, 100) : '';
  return {
    run: runId, url: result.url, status: result.status, verified: result.verified, at, worker: worker || workerName(),
    attempts: Math.trunc(result.attempts), duration_ms: Math.round(result.duration_ms), changes_json: changesJson(result),
    error_json: result.error ? maskedJson(result.error) : null, before_json: result.before ? maskedJson(result.before) : null,
  };
}
