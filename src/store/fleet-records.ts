import { randomInt } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { FleetSitesTable } from './sql/tables.js';
import { SiteExistsError, type FleetSite, type NewFleetSite, type SiteHealth, type SiteSource } from './fleet-store.js';

/**
 * The fleet registry's rules outside SQL: site ids, usable names and tags, what an import adds, and
 * the mapping from a `fleet_sites` row to a FleetSite. The CLI and the import check names and tags
 * with the same functions before they reach the store.
 */

/** Lower case letters and digits minus i, l, o, u (read aloud wrongly), as run ids. */
const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const SITE_ID = /^s_[0-9a-hjkmnp-tv-z]{10}$/;

function newSiteId(): string {
  let id = 's_';
  for (let i = 0; i < 10; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const NAME = /^[^\s/?#][^/?#]{0,199}$/;

/** Throws a message for the operator when a name cannot be used (it also appears in URLs). */
export function checkSiteName(name: string): void {
  if (!NAME.test(name) || name !== name.trim())
    throw new RangeError(`Site name "${name}" is not usable: 1-200 characters, no "/", "?" or "#", no surrounding spaces.`);
  // The template-facing routes take a name or an id: a name shaped like an id would be ambiguous.
  if (SITE_ID.test(name)) throw new RangeError(`Site name "${name}" looks like a site id; choose another.`);
}

/** The tags, checked and without repeats, in the order given. */
export function checkTags(tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const tag of tags) {
    if (typeof tag !== 'string' || !TAG.test(tag))
      throw new RangeError(`Tag "${String(tag)}" is not usable: letters, digits, "_", ".", ":" and "-", at most 64.`);
    if (!out.includes(tag)) out.push(tag);
  }
  return out;
}

/**
 * The rules of `addSite` applied to a whole batch at once (issue 14, point 5: an import inserts its
 * sites in one transaction, not one each): an unusable name or tags, a URL or name the fleet already
 * has (`taken`, read inside the write transaction), or one an earlier site of the batch takes, is
 * not added. Per given site, in order: the site to insert (new id, checked tags) or the error
 * `addSite` throws for it.
 */
export function planSiteBatch(
  sites: readonly NewFleetSite[],
  taken: ReadonlyArray<{ url: string; name: string }>,
): Array<{ id: string; site: NewFleetSite; tags: string[] } | Error> {
  const urls = new Set(taken.map((t) => t.url));
  const names = new Set(taken.map((t) => t.name));
  return sites.map((site) => {
    try {
      checkSiteName(site.name);
      const tags = checkTags(site.tags);
      if (urls.has(site.url)) throw new SiteExistsError('url', site.url);
      if (names.has(site.name)) throw new SiteExistsError('name', site.name);
      urls.add(site.url);
      names.add(site.name);
      return { id: newSiteId(), site, tags };
    } catch (err) {
      if (!(err instanceof SiteExistsError || err instanceof RangeError)) throw err;
      return err;
    }
  });
}

export type SiteRow = Selectable<FleetSitesTable>;

const bool = (v: SiteRow['reachable']): boolean | null => (v === null ? null : Boolean(v));

export function siteFromRow(row: SiteRow, tags: string[]): FleetSite {
  return {
    id: row.id,
    url: row.url,
    name: row.name,
    tags,
    has_api_key: row.api_key_sealed !== null,
    desired_version_id: row.desired_version_id,
    source: row.source as SiteSource,
    added_at: row.added_at,
    added_by: row.added_by,
    approval: row.approval === 'pending' ? 'pending' : 'approved',
    approved_at: row.approved_at,
    approved_by: row.approved_by,
    health: row.checked_at === null ? null : {
      reachable: Boolean(row.reachable), pk_as_desired: bool(row.pk_as_desired), sk_as_desired: bool(row.sk_as_desired),
      mode: row.mode as SiteHealth['mode'], latency_ms: row.latency_ms, checked_at: row.checked_at, problem: row.problem,
      version_id: row.checked_version_id,
    },
  };
}
