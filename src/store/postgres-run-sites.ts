import type { PgQuery } from './postgres-db.js';
import {
  SITE_STATUSES,
  assertSiteResult,
  maskedJson,
  siteFromRow,
  summaryFromCounts,
  type SiteRow,
} from './run-records.js';
import type { RunSummary, SiteResult, SiteStatus } from './state-store.js';

const COLUMNS = 'url, status, verified, attempts, duration_ms, error_json, before_json';

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
      new Date().toISOString(),
    ];
    // FOR SHARE: a concurrent finishRun (FOR UPDATE) waits for this write, or this write sees the run ended.
    const updated = await this.db.run(
      `UPDATE run_sites SET status = $1, verified = $2, attempts = $3, duration_ms = $4, error_json = $5,
         before_json = COALESCE(before_json, $6), updated_at = $7
       WHERE run_id = $8 AND url = $9
         AND EXISTS (SELECT 1 FROM runs WHERE id = $8 AND state = 'running' FOR SHARE)`,
      [...fields, runId, result.url],
    );
    if (updated === 1) return;
    // The slow path: say why nothing matched, or append a site that was not in the original list.
    await this.db.tx(async (q) => {
      await this.requireRunning(q, runId, true);
      await q.run(
        `INSERT INTO run_sites (run_id, url, position, status, verified, attempts, duration_ms, error_json, before_json, updated_at)
         SELECT $1, $2, COALESCE(MAX(position) + 1, 0), $3, $4, $5, $6, $7, $8, $9 FROM run_sites WHERE run_id = $1`,
        [runId, result.url, ...fields],
      );
    });
  }

  async list(runId: string, statuses?: readonly SiteStatus[]): Promise<SiteResult[]> {
    if (statuses === undefined) {
      return (
        await this.db.rows<SiteRow>(`SELECT ${COLUMNS} FROM run_sites WHERE run_id = $1 ORDER BY position`, [
          runId,
        ])
      ).map(siteFromRow);
    }
    for (const s of statuses)
      if (!SITE_STATUSES.has(s)) throw new Error(`Unknown site status "${String(s)}".`);
    if (statuses.length === 0) return [];
    const sql = `SELECT ${COLUMNS} FROM run_sites WHERE run_id = $1 AND status = ANY($2::text[]) ORDER BY position`;
    return (await this.db.rows<SiteRow>(sql, [runId, statuses])).map(siteFromRow);
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
