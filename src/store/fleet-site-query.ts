import { expressionBuilder, sql } from './sql/kysely.js';
import type { Expression, Kysely, SqlBool } from 'kysely';
import type { SiteFilter, SiteStatusFilter, SiteStatusKind, SiteSummary } from './fleet-store.js';
import type { StoreDb } from './sql/store-db.js';
import type { StateTables } from './sql/tables.js';

/**
 * A filtered, paged site list and the fleet's status counts, written once for both backends. The
 * status rules are those of the dashboard's views, evaluated in the query so that a page of 50 out
 * of 50,000 sites is read as 50 rows:
 *
 * - the effective desired version is `desired.ts`'s `effectiveVersion`: the site's own, else the
 *   override of its first tag (by position) that has one, else the fleet default;
 * - drifted / in sync is `site-views.ts`'s `driftOf` against that version;
 * - the tile kinds are the web UI's `siteStatus` (unchecked, unreachable, error, drifted, ok).
 *
 * test/store/fleet-store-pages-and-filters-sites-in-sql.test.ts checks every combination against
 * the JavaScript rules on both backends.
 *
 * @example db.k.selectFrom(sitesWithVersion(db.k)).selectAll().where((eb) => eb.and(siteFilter(db, { status: 'drift' })))
 */

/**
 * `fleet_sites` plus each site's effective desired version, as the derived table `s`. `apart`: on
 * Postgres, keep `s` from being inlined (OFFSET 0), for a scan of the whole fleet that uses
 * effective_version many times per site (the counts: 1.5 s → 20 ms at 3,000 sites); a filtered list
 * is faster inlined.
 */
export function sitesWithVersion(k: Kysely<StateTables>, apart = false) {
  return k
    .selectFrom('fleet_sites')
    .selectAll('fleet_sites')
    .select((eb) =>
      eb.fn
        .coalesce(
          'fleet_sites.desired_version_id',
          eb
            .selectFrom('fleet_site_tags as t')
            .innerJoin('fleet_desired as d', (join) => join.on(sql<SqlBool>`d.scope = 'tag:' || t.tag`))
            .select('d.version_id').whereRef('t.site_id', '=', 'fleet_sites.id').orderBy('t.position').limit(1),
          eb.selectFrom('fleet_desired').select('version_id').where('scope', '=', 'fleet'),
        )
        .as('effective_version'),
    )
    .$if(apart, (q) => q.offset(0))
    .as('s');
}

const CHECKED = sql<SqlBool>`checked_at IS NOT NULL`;
const UNREACHABLE = sql<SqlBool>`(${CHECKED} AND (reachable IS NULL OR reachable = FALSE))`;
/** A failed check other than drift (it says nothing about the keys). */
const ERROR = sql<SqlBool>`(${CHECKED} AND problem IS NOT NULL AND problem <> 'drift')`;
/** The check itself said a key differs. COALESCE: a NULL here must not turn a NOT into NULL. */
const MARKED_DRIFT = sql<SqlBool>`(COALESCE(problem = 'drift', FALSE) OR COALESCE(pk_as_desired = FALSE, FALSE) OR COALESCE(sk_as_desired = FALSE, FALSE))`;
const DRIFTED = sql<SqlBool>`(${CHECKED} AND effective_version IS NOT NULL AND (${MARKED_DRIFT} OR (problem IS NULL AND (checked_version_id IS NULL OR checked_version_id <> effective_version))))`;
const IN_SYNC = sql<SqlBool>`(${CHECKED} AND effective_version IS NOT NULL AND NOT ${MARKED_DRIFT} AND problem IS NULL AND checked_version_id = effective_version)`;
/** "Has a problem" (`?problem=`): unreachable, an error, or a setting not as desired. */
const PROBLEM = sql<SqlBool>`(${CHECKED} AND (reachable = FALSE OR problem IS NOT NULL OR pk_as_desired = FALSE OR sk_as_desired = FALSE))`;

const STATUS: Record<SiteStatusFilter, Expression<SqlBool>> = {
  unreachable: UNREACHABLE, error: ERROR, drift: DRIFTED, unchecked: sql<SqlBool>`(checked_at IS NULL)`,
  any: sql<SqlBool>`(${UNREACHABLE} OR ${ERROR} OR ${DRIFTED})`,
  none: sql<SqlBool>`(${CHECKED} AND NOT ${UNREACHABLE} AND NOT ${ERROR} AND ${IN_SYNC})`,
};

/** The web UI's status kinds (SITE_KINDS, nothing else), first match wins (a site checked against no desired version counts as unchecked). */
const KIND = sql<string>`CASE
    WHEN checked_at IS NULL THEN 'unchecked'
    WHEN reachable IS NULL OR reachable = FALSE THEN 'unreachable'
    WHEN problem IS NOT NULL AND problem <> 'drift' THEN 'error'
    WHEN ${DRIFTED} THEN 'drifted'
    WHEN ${IN_SYNC} THEN 'ok'
    ELSE 'unchecked' END`;

/** Problems first (issue 11): errors, drifted, unreachable, unchecked, then in sync (then in added order). */
export const PROBLEMS_FIRST = sql<number>`CASE ${KIND} WHEN 'error' THEN 0 WHEN 'drifted' THEN 1 WHEN 'unreachable' THEN 2 WHEN 'unchecked' THEN 3 ELSE 4 END`;

const SITE_KINDS: readonly SiteStatusKind[] = ['ok', 'drifted', 'unreachable', 'error', 'unchecked'];

const eb = expressionBuilder<StateTables, 'fleet_sites'>();

/** Sites carrying any of `tags`. */
const withTags = (db: StoreDb<StateTables>, tags: readonly string[]) =>
  eb('id', 'in', eb.selectFrom('fleet_site_tags').select('site_id').where(db.inList('tag', tags)));

/** `%`, `_` and the escape character itself are literal in a search. */
const likeEscape = (q: string) => q.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The conditions (on `sitesWithVersion`) of a SiteFilter, to AND together. */
export function siteFilter(db: StoreDb<StateTables>, filter: SiteFilter): Array<Expression<SqlBool>> {
  const where: Array<Expression<SqlBool>> = [];
  if (filter.tags && filter.tags.length > 0) where.push(withTags(db, filter.tags));
  if (filter.problem !== undefined) where.push(filter.problem ? PROBLEM : sql<SqlBool>`NOT ${PROBLEM}`);
  if (filter.status !== undefined) where.push(STATUS[filter.status]);
  const q = filter.q?.trim();
  if (q) {
    // lower() on both sides: each backend folds the text and the search the same way.
    const like = (column: 'url' | 'name') =>
      sql<SqlBool>`lower(${sql.ref(column)}) LIKE ('%' || lower(CAST(${likeEscape(q)} AS TEXT)) || '%') ESCAPE '\\'`;
    where.push(eb.or([like('url'), like('name')]));
  }
  const { refs } = filter;
  if (refs) where.push(eb.or([db.inList('id', refs), db.inList('name', refs), db.inList('url', refs)]));
  return where;
}

/**
 * The SiteSummary in two queries: one scan grouped by status kind, effective desired version and in-sync
 * (over the sites carrying any of `tags`: the tiles follow the tag filter, issue 11), then the fleet's tag
 * counts. Postgres counts arrive as strings.
 */
export async function summarize(db: StoreDb<StateTables>, k: Kysely<StateTables>, tags: readonly string[]): Promise<SiteSummary> {
  // Over the whole fleet (safe-to-roll), a site waiting for approval (issue 12) should hold no
  // version yet: it never blocks safe-to-roll.
  const version =
    tags.length > 0
      ? sql<string | null>`effective_version`
      : sql<string | null>`CASE WHEN approval = 'pending' THEN NULL ELSE effective_version END`;
  const kinds = await k
    .selectFrom(sitesWithVersion(k, db.backend === 'postgres'))
    .select((eb) => [
      KIND.as('kind'),
      version.as('version_id'),
      sql<number | string>`CASE WHEN ${IN_SYNC} THEN 1 ELSE 0 END`.as('in_sync'),
      eb.fn.countAll<number | string>().as('n'),
    ])
    .$if(tags.length > 0, (q) => q.where(withTags(db, tags))).groupBy([sql`1`, sql`2`, sql`3`]).execute();
  const tagCounts = await k
    .selectFrom('fleet_site_tags')
    .select((eb) => ['tag', eb.fn.countAll<number | string>().as('n')]).groupBy('tag').orderBy('tag').execute();
  const statuses = Object.fromEntries(['all', ...SITE_KINDS].map((kind) => [kind, 0])) as SiteSummary['statuses'];
  const versions: SiteSummary['versions'] = {};
  for (const { kind, version_id, in_sync, n } of kinds) {
    if (version_id !== null) {
      const v = (versions[version_id] ??= { sites: 0, in_sync: 0 });
      v.sites += Number(n);
      if (Number(in_sync) === 1) v.in_sync += Number(n);
    }
    statuses[kind as SiteStatusKind] += Number(n);
    statuses.all += Number(n);
  }
  return { statuses, tags: Object.fromEntries(tagCounts.map(({ tag, n }) => [tag, Number(n)])), versions };
}
