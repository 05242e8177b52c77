import type Database from 'better-sqlite3';
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
 * The `run_sites` half of the SQLite state store: one row per site per run, keyed (run_id, url), with
 * `position` keeping the order the sites were given in. This is the hot path of a push (one write per
 * site), so the common write is a single prepared UPDATE in its own autocommit transaction.
 */
export class SqliteRunSites {
  constructor(
    private readonly db: Database.Database,
    private readonly stmt: (sql: string) => Database.Statement,
  ) {}

  /** Inserts one `pending` row per distinct URL (a repeated URL keeps its first position); returns the count. */
  insertPending(runId: string, sites: readonly string[]): number {
    const insert = this.stmt(
      `INSERT INTO run_sites (run_id, url, position, status) VALUES (?, ?, ?, 'pending') ON CONFLICT DO NOTHING`,
    );
    let total = 0;
    sites.forEach((url, position) => (total += insert.run(runId, url, position).changes));
    return total;
  }

  record(runId: string, result: SiteResult): void {
    assertSiteResult(result);
    const fields = [
      result.status,
      result.verified ? 1 : 0,
      Math.trunc(result.attempts),
      Math.round(result.duration_ms),
      result.error ? maskedJson(result.error) : null,
      result.before ? maskedJson(result.before) : null,
      changesJson(result),
      new Date().toISOString(),
      workerOf(result),
    ];
    // Overwrites the row, so however often a site is written it counts once. `before` is kept from the
    // first write that had one: a resumed run re-reads a site it may have half-pushed, and that second
    // reading is not what the site had before the run. The EXISTS refuses a write to a finished run,
    // whose frozen summary would otherwise disagree with its rows.
    const updated = this.stmt(
      `UPDATE run_sites SET status = ?, verified = ?, attempts = ?, duration_ms = ?, error_json = ?,
         before_json = COALESCE(before_json, ?), changes_json = ?, updated_at = ?, worker = ?
       WHERE run_id = ? AND url = ? AND EXISTS (SELECT 1 FROM runs WHERE id = ? AND state = 'running')`,
    ).run(...fields, runId, result.url, runId);
    if (updated.changes === 1) return;
    // The slow path: say why nothing matched, or append a site that was not in the original list.
    const insert = this.stmt(
      `INSERT INTO run_sites (run_id, url, position, status, verified, attempts, duration_ms, error_json,
         before_json, changes_json, updated_at, worker)
       SELECT ?, ?, COALESCE(MAX(position) + 1, 0), ?, ?, ?, ?, ?, ?, ?, ?, ? FROM run_sites WHERE run_id = ?`,
    );
    this.db
      .transaction(() => {
        this.requireRunning(runId);
        insert.run(runId, result.url, ...fields, runId);
      })
      .immediate();
  }

  /** In position order; `statuses` and `urls` narrow it (a shared run's job reads only its own sites). */
  list(
    runId: string,
    statuses?: readonly SiteStatus[],
    urls?: readonly string[],
    withBefore: boolean | 'only' = true,
  ): SiteResult[] {
    for (const s of statuses ?? []) {
      if (!SITE_STATUSES.has(s)) throw new Error(`Unknown site status "${String(s)}".`);
    }
    if (statuses?.length === 0 || urls?.length === 0) return [];
    const params: unknown[] = [runId];
    let where = 'run_id = ?';
    if (statuses !== undefined) {
      where += ` AND status IN (${statuses.map(() => '?').join(', ')})`;
      params.push(...statuses);
    }
    if (urls !== undefined) {
      where += ' AND url IN (SELECT value FROM json_each(?))';
      params.push(JSON.stringify(urls));
    }
    if (withBefore === 'only') where += ' AND before_json IS NOT NULL';
    const sql = `SELECT ${withBefore ? COLUMNS : COLUMNS_NO_BEFORE} FROM run_sites WHERE ${where} ORDER BY position`;
    return (this.stmt(sql).all(...params) as SiteRow[]).map(siteFromRow);
  }

  /** The summary, counted from the rows (never from a tally kept on the side). */
  counts(runId: string): RunSummary {
    const sql = 'SELECT status, COUNT(*) AS n FROM run_sites WHERE run_id = ? GROUP BY status';
    return summaryFromCounts(this.stmt(sql).all(runId) as Array<{ status: string; n: number }>);
  }

  /** When the run last recorded a site: the best estimate of when a dead process stopped. */
  lastWrite(runId: string): string | null {
    const sql = 'SELECT MAX(updated_at) AS at FROM run_sites WHERE run_id = ?';
    return (this.stmt(sql).get(runId) as { at: string | null }).at;
  }

  requireRunning(runId: string): void {
    const row = this.stmt('SELECT state FROM runs WHERE id = ?').get(runId) as { state: string } | undefined;
    if (!row) throw new Error(`No run ${runId}.`);
    if (row.state !== 'running') {
      throw new Error(`Run ${runId} is ${row.state}: reopen it before recording sites.`);
    }
  }
}
