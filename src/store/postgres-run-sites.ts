import type { PgQuery } from './postgres-db.js';
import {
  SITE_STATUSES,
  assertSiteResult,
  changesJson,
  maskedJson,
  workerOf,
  siteFromRow,
  summaryFromCounts,
  type SiteRow,
} from './run-records.js';
import type { RunSummary, SiteResult, SiteStatus } from './state-store.js';

const COLUMNS = 'url, status, verified, attempts, duration_ms, error_json, before_json, changes_json, worker';
/** For a report: what each site held before the run is not in it, and at 50,000 sites it is most of the rows' memory. */
const COLUMNS_NO_BEFORE = COLUMNS.replace('before_json', 'NULL AS before_json');

/**
 * recordMany in one statement (so one round-trip and one transaction): the sites are given as one
 * array per column, and the statement applies them as recording each in turn would. A URL given
 * twice takes its last result, with `before` from the first that had one; a URL not in the run is
 * appended after its rows, in the order given. Nothing is written unless the run is `running`; the
 * run row is held FOR SHARE, like record's, so a concurrent finishRun waits for the batch.
 */
const RECORD_MANY = `
  WITH run AS (
    SELECT id FROM runs WHERE id = $1 AND state = 'running' FOR SHARE
  ), given AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::boolean[], $5::integer[], $6::integer[], $7::text[],
      $8::text[], $9::text[], $11::text[]) WITH ORDINALITY
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
      changes_json = i.changes_json, updated_at = $10, worker = i.worker
    FROM input i WHERE s.run_id = $1 AND s.url = i.url
  ), appended AS (
    INSERT INTO run_sites (run_id, url, position, status, verified, attempts, duration_ms, error_json,
      before_json, changes_json, updated_at, worker)
    SELECT $1, i.url,
      (SELECT COALESCE(MAX(position) + 1, 0) FROM run_sites WHERE run_id = $1)
        + ROW_NUMBER() OVER (ORDER BY i.first_ord) - 1,
      i.status, i.verified, i.attempts, i.duration_ms, i.error_json, i.before_json, i.changes_json, $10, i.worker
    FROM input i WHERE NOT EXISTS (SELECT 1 FROM run_sites s WHERE s.run_id = $1 AND s.url = i.url)
  )
  SELECT (SELECT COUNT(*) FROM run)::int AS running`;

/**
 * The `run_sites` half of the Postgres state store, the same rules as sqlite-run-sites.ts: one row
 * per site per run, overwritten however often the site is written (so nothing counts twice),
 * `before` kept from the first write that had one, and no write to a run that is not `running`.
 */
export class PostgresRunSites {
  constructor(private readonly db: PgQuery & { tx<T>(fn: (q: PgQuery) => Promise<T>): Promise<T> }) {}

  /** Inserts one `pending` row per distinct URL (a repeated URL keeps its first position); returns the count. */
  async insertPending(q: PgQuery, runId: string, sites: readonly string[]): Promise<number> {
    return q.run(
      `INSERT INTO run_sites (run_id, url, position, status)
       SELECT $1, t.url, t.pos - 1, 'pending' FROM unnest($2::text[]) WITH ORDINALITY AS t(url, pos) ORDER BY t.pos
       ON CONFLICT DO NOTHING`,
      [runId, sites],
    );
  }

  async record(runId: string, result: SiteResult): Promise<void> {
    assertSiteResult(result);
    const fields = [
      result.status,
      result.verified,
      Math.trunc(result.attempts),
      Math.round(result.duration_ms),
      result.error ? maskedJson(result.error) : null,
      result.before ? maskedJson(result.before) : null,
      changesJson(result),
      new Date().toISOString(),
      workerOf(result),
    ];
    // FOR SHARE: a concurrent finishRun (FOR UPDATE) waits for this write, or this write sees the run ended.
    const updated = await this.db.run(
      `UPDATE run_sites SET status = $1, verified = $2, attempts = $3, duration_ms = $4, error_json = $5,
         before_json = COALESCE(before_json, $6), changes_json = $7, updated_at = $8, worker = $9
       WHERE run_id = $10 AND url = $11
         AND EXISTS (SELECT 1 FROM runs WHERE id = $10 AND state = 'running' FOR SHARE)`,
      [...fields, runId, result.url],
    );
    if (updated === 1) return;
    // The slow path: say why nothing matched, or append a site that was not in the original list.
    await this.db.tx(async (q) => {
      await this.requireRunning(q, runId, true);
      await q.run(
        `INSERT INTO run_sites (run_id, url, position, status, verified, attempts, duration_ms, error_json, before_json, changes_json, updated_at, worker)
         SELECT $1, $2, COALESCE(MAX(position) + 1, 0), $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM run_sites WHERE run_id = $1`,
        [runId, result.url, ...fields],
      );
    });
  }

  /** Several results in one statement (RECORD_MANY); throws, writing nothing, unless the run is `running`. */
  async recordMany(runId: string, results: readonly SiteResult[]): Promise<void> {
    if (results.length === 0) return;
    const cols = {
      url: [] as string[],
      status: [] as string[],
      verified: [] as boolean[],
      attempts: [] as number[],
      duration_ms: [] as number[],
      error_json: [] as Array<string | null>,
      before_json: [] as Array<string | null>,
      changes_json: [] as Array<string | null>,
      worker: [] as string[],
    };
    for (const r of results) {
      assertSiteResult(r);
      cols.url.push(r.url);
      cols.status.push(r.status);
      cols.verified.push(r.verified);
      cols.attempts.push(Math.trunc(r.attempts));
      cols.duration_ms.push(Math.round(r.duration_ms));
      cols.error_json.push(r.error ? maskedJson(r.error) : null);
      cols.before_json.push(r.before ? maskedJson(r.before) : null);
      cols.changes_json.push(changesJson(r));
      cols.worker.push(workerOf(r));
    }
    const c = cols;
    // Data-modifying CTEs run to completion whether or not the final SELECT reads them.
    const row = await this.db.one<{ running: number }>(RECORD_MANY, [
      runId,
      c.url,
      c.status,
      c.verified,
      c.attempts,
      c.duration_ms,
      c.error_json,
      c.before_json,
      c.changes_json,
      new Date().toISOString(),
      c.worker,
    ]);
    if (row?.running !== 1) {
      await this.requireRunning(this.db, runId); // throws: no such run, or it is not running
      throw new Error(`Run ${runId} changed state while its sites were recorded; nothing was written.`);
    }
  }

  /** In position order; `statuses` and `urls` narrow it (a shared run's job reads only its own sites). */
  async list(
    runId: string,
    statuses?: readonly SiteStatus[],
    urls?: readonly string[],
    withBefore: boolean | 'only' = true,
  ): Promise<SiteResult[]> {
    for (const s of statuses ?? [])
      if (!SITE_STATUSES.has(s)) throw new Error(`Unknown site status "${String(s)}".`);
    if (statuses?.length === 0 || urls?.length === 0) return [];
    const params: unknown[] = [runId];
    let where = 'run_id = $1';
    if (statuses !== undefined) {
      params.push([...statuses]);
      where += ` AND status = ANY($${params.length}::text[])`;
    }
    if (urls !== undefined) {
      params.push([...urls]);
      where += ` AND url = ANY($${params.length}::text[])`;
    }
    if (withBefore === 'only') where += ' AND before_json IS NOT NULL';
    const sql = `SELECT ${withBefore ? COLUMNS : COLUMNS_NO_BEFORE} FROM run_sites WHERE ${where} ORDER BY position`;
    return (await this.db.rows<SiteRow>(sql, params)).map(siteFromRow);
  }

  /** The summary, counted from the rows (never from a tally kept on the side). */
  async counts(q: PgQuery, runId: string): Promise<RunSummary> {
    return summaryFromCounts(
      await q
        .rows<{ status: string; n: string }>(
          'SELECT status, COUNT(*) AS n FROM run_sites WHERE run_id = $1 GROUP BY status',
          [runId],
        )
        .then((rows) => rows.map((r) => ({ status: r.status, n: Number(r.n) }))),
    );
  }

  /** When the run last recorded a site: the best estimate of when a dead process stopped. */
  async lastWrite(q: PgQuery, runId: string): Promise<string | null> {
    return (
      (
        await q.one<{ at: string | null }>('SELECT MAX(updated_at) AS at FROM run_sites WHERE run_id = $1', [
          runId,
        ])
      )?.at ?? null
    );
  }

  /** Throws unless the run exists and is running; `lock` holds the run's row until the transaction ends. */
  async requireRunning(q: PgQuery, runId: string, lock = false): Promise<void> {
    const row = await q.one<{ state: string }>(
      `SELECT state FROM runs WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [runId],
    );
    if (!row) throw new Error(`No run ${runId}.`);
    if (row.state !== 'running')
      throw new Error(`Run ${runId} is ${row.state}: reopen it before recording sites.`);
  }
}
