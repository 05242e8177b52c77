import { PROBLEM_SQL } from './fleet-records.js';
import type {
  SiteFilter,
  SitePageRequest,
  SiteStatusFilter,
  SiteStatusKind,
  SiteSummary,
} from './fleet-store.js';

/**
 * The SQL of a filtered, paged site list and of the fleet's status counts, one text for both
 * backends (only placeholders differ: `?` on SQLite, `$n` on Postgres). The status rules are those
 * of the dashboard's views, evaluated in the query so that a page of 50 out of 50,000 sites is read
 * as 50 rows:
 *
 * - the effective desired version is `desired.ts`'s `effectiveVersion`: the site's own, else the
 *   override of its first tag (by position) that has one, else the fleet default;
 * - drifted / in sync is `site-views.ts`'s `driftOf` against that version;
 * - the tile kinds are the web UI's `siteStatus` (unchecked, unreachable, error, drifted, ok).
 *
 * test/store/fleet-store-pages-and-filters-sites-in-sql.test.ts checks every combination against
 * the JavaScript rules on both backends.
 *
 * @example const { rows, count } = siteListSql({ status: 'drift', q: 'shop' }, { limit: 50 }, 'sqlite');
 */
export type Dialect = 'sqlite' | 'postgres';

/** `fleet_sites` plus each site's effective desired version, as the derived table `s`. */
const SITES_WITH_VERSION = `(SELECT fleet_sites.*, COALESCE(
    fleet_sites.desired_version_id,
    (SELECT d.version_id FROM fleet_site_tags t JOIN fleet_desired d ON d.scope = 'tag:' || t.tag
      WHERE t.site_id = fleet_sites.id ORDER BY t.position LIMIT 1),
    (SELECT version_id FROM fleet_desired WHERE scope = 'fleet')
  ) AS effective_version FROM fleet_sites) AS s`;

const CHECKED = 'checked_at IS NOT NULL';
const UNREACHABLE = `(${CHECKED} AND (reachable IS NULL OR reachable = FALSE))`;
/** A failed check other than drift (it says nothing about the keys). */
const ERROR = `(${CHECKED} AND problem IS NOT NULL AND problem <> 'drift')`;
/** The check itself said a key differs. COALESCE: a NULL here must not turn a NOT into NULL. */
const MARKED_DRIFT = `(COALESCE(problem = 'drift', FALSE) OR COALESCE(pk_as_desired = FALSE, FALSE) OR COALESCE(sk_as_desired = FALSE, FALSE))`;
const DRIFTED = `(${CHECKED} AND effective_version IS NOT NULL AND (${MARKED_DRIFT} OR (problem IS NULL AND (checked_version_id IS NULL OR checked_version_id <> effective_version))))`;
const IN_SYNC = `(${CHECKED} AND effective_version IS NOT NULL AND NOT ${MARKED_DRIFT} AND problem IS NULL AND checked_version_id = effective_version)`;

const STATUS_SQL: Record<SiteStatusFilter, string> = {
  unreachable: UNREACHABLE,
  error: ERROR,
  drift: DRIFTED,
  unchecked: `(checked_at IS NULL)`,
  any: `(${UNREACHABLE} OR ${ERROR} OR ${DRIFTED})`,
  none: `(${CHECKED} AND NOT ${UNREACHABLE} AND NOT ${ERROR} AND ${IN_SYNC})`,
};

/** The web UI's status kinds, first match wins (a site checked against no desired version counts as unchecked). */
const KIND_SQL = `CASE
    WHEN checked_at IS NULL THEN 'unchecked'
    WHEN reachable IS NULL OR reachable = FALSE THEN 'unreachable'
    WHEN problem IS NOT NULL AND problem <> 'drift' THEN 'error'
    WHEN ${DRIFTED} THEN 'drifted'
    WHEN ${IN_SYNC} THEN 'ok'
    ELSE 'unchecked' END`;

export const SITE_KINDS: readonly SiteStatusKind[] = ['ok', 'drifted', 'unreachable', 'error', 'unchecked'];

export interface Sql {
  sql: string;
  params: unknown[];
}

/** `%`, `_` and the escape character itself are literal in a search. */
const likeEscape = (q: string) => q.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The rows of one page (`SELECT *` of `fleet_sites` plus `effective_version`) and the count of all matches. */
export function siteListSql(
  filter: SiteFilter,
  page: SitePageRequest,
  dialect: Dialect,
): { rows: Sql; count: Sql } {
  const params: unknown[] = [];
  const ph = (value: unknown) => {
    params.push(value);
    return dialect === 'postgres' ? `$${params.length}` : '?';
  };
  const where: string[] = [];
  if (filter.tags && filter.tags.length > 0) {
    const tags =
      dialect === 'postgres' ? `= ANY(${ph(filter.tags)}::text[])` : `IN (${filter.tags.map(ph).join(', ')})`;
    where.push(`id IN (SELECT site_id FROM fleet_site_tags WHERE tag ${tags})`);
  }
  if (filter.problem !== undefined) where.push(filter.problem ? PROBLEM_SQL : `NOT ${PROBLEM_SQL}`);
  if (filter.status !== undefined) where.push(STATUS_SQL[filter.status]);
  const q = filter.q?.trim();
  if (q) {
    // lower() on both sides: each backend folds the text and the search the same way.
    const like = (column: string) =>
      `lower(${column}) LIKE ('%' || lower(CAST(${ph(likeEscape(q))} AS TEXT)) || '%') ESCAPE '\\'`;
    where.push(`(${like('url')} OR ${like('name')})`);
  }
  const refs = filter.refs;
  if (refs) {
    const anyOf = () =>
      dialect === 'postgres' ? `= ANY(${ph(refs)}::text[])` : `IN (${refs.map(ph).join(', ') || 'NULL'})`;
    where.push(`(id ${anyOf()} OR name ${anyOf()} OR url ${anyOf()})`);
  }
  const body = `FROM ${SITES_WITH_VERSION} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
  const countParams = [...params];
  let paging = '';
  if (page.limit !== undefined) paging += ` LIMIT ${ph(page.limit)}`;
  if (page.offset)
    paging += `${page.limit === undefined && dialect === 'sqlite' ? ' LIMIT -1' : ''} OFFSET ${ph(page.offset)}`;
  // Problems first (issue 11): errors, drifted, unreachable, unchecked, then in sync; each in added order.
  const order =
    page.sort === 'problems'
      ? `CASE ${KIND_SQL} WHEN 'error' THEN 0 WHEN 'drifted' THEN 1 WHEN 'unreachable' THEN 2 WHEN 'unchecked' THEN 3 ELSE 4 END, seq`
      : 'seq';
  return {
    rows: { sql: `SELECT * ${body} ORDER BY ${order}${paging}`, params },
    count: { sql: `SELECT COUNT(*) AS n ${body}`, params: countParams },
  };
}

/**
 * Sites per status kind, effective desired version and in-sync or not (rows of `kind`, `version_id`,
 * `in_sync` 0/1, `n`): one scan for the status tiles and the per-version counts.
 */
// A site waiting for approval (issue 12) should hold no version yet: it never blocks safe-to-roll.
export const SITE_KIND_COUNTS_SQL = `SELECT ${KIND_SQL} AS kind,
    CASE WHEN approval = 'pending' THEN NULL ELSE effective_version END AS version_id,
    CASE WHEN ${IN_SYNC} THEN 1 ELSE 0 END AS in_sync, COUNT(*) AS n
  FROM ${SITES_WITH_VERSION} GROUP BY 1, 2, 3`;

/** SITE_KIND_COUNTS_SQL over the sites carrying any of `tags` (the tiles follow the tag filter, issue 11). */
export function siteKindCountsSql(tags: readonly string[], dialect: Dialect): Sql {
  if (tags.length === 0) return { sql: SITE_KIND_COUNTS_SQL, params: [] };
  const inTags =
    dialect === 'postgres' ? '= ANY($1::text[])' : `IN (${tags.map(() => '?').join(', ')})`;
  return {
    sql: `SELECT ${KIND_SQL} AS kind, effective_version AS version_id,
    CASE WHEN ${IN_SYNC} THEN 1 ELSE 0 END AS in_sync, COUNT(*) AS n
  FROM ${SITES_WITH_VERSION} WHERE id IN (SELECT site_id FROM fleet_site_tags WHERE tag ${inTags}) GROUP BY 1, 2, 3`,
    params: dialect === 'postgres' ? [tags] : [...tags],
  };
}
/** Sites per tag (rows of `tag`, `n`). */
export const SITE_TAG_COUNTS_SQL = 'SELECT tag, COUNT(*) AS n FROM fleet_site_tags GROUP BY tag ORDER BY tag';

/** A row of SITE_KIND_COUNTS_SQL (Postgres counts arrive as strings). */
export interface KindCountRow {
  kind: string;
  version_id: string | null;
  in_sync: number | string;
  n: number | string;
}

/** The rows of the two count queries as a SiteSummary. */
export function summaryOf(
  kinds: readonly KindCountRow[],
  tags: ReadonlyArray<{ tag: string; n: number | string }>,
): SiteSummary {
  const statuses: SiteSummary['statuses'] = {
    all: 0,
    ok: 0,
    drifted: 0,
    unreachable: 0,
    error: 0,
    unchecked: 0,
  };
  const versions: SiteSummary['versions'] = {};
  for (const { kind, version_id, in_sync, n } of kinds) {
    if (version_id !== null) {
      const v = (versions[version_id] ??= { sites: 0, in_sync: 0 });
      v.sites += Number(n);
      if (Number(in_sync) === 1) v.in_sync += Number(n);
    }
    if (!(SITE_KINDS as readonly string[]).includes(kind)) continue;
    statuses[kind as SiteStatusKind] += Number(n);
    statuses.all += Number(n);
  }
  return { statuses, tags: Object.fromEntries(tags.map(({ tag, n }) => [tag, Number(n)])), versions };
}
