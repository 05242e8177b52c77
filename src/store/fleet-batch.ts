import { checkSiteName, checkTags, newSiteId } from './fleet-records.js';
import { SiteExistsError, type FleetSite, type NewFleetSite } from './fleet-store.js';

/** One given site of `FleetStore.addSites`: the site added, or why it was not. */
export type AddedSite = { site: FleetSite } | { reason: string };

/** A site of a batch that will be inserted: its new id and its checked tags. */
export interface BatchRow {
  index: number;
  id: string;
  site: NewFleetSite;
  tags: string[];
}

/**
 * The rules of `addSite` applied to a whole batch at once (issue 14, point 5: an import inserts its
 * sites in one transaction, not one each): an unusable name or tags, a URL or name the fleet already
 * has (`taken`, read inside the write transaction), or one an earlier site of the batch takes, is
 * not added, with the same message `addSite` would throw.
 */
export function planSiteBatch(
  sites: readonly NewFleetSite[],
  taken: ReadonlyArray<{ url: string; name: string }>,
): { rows: BatchRow[]; refused: Map<number, string> } {
  const urls = new Set(taken.map((t) => t.url));
  const names = new Set(taken.map((t) => t.name));
  const rows: BatchRow[] = [];
  const refused = new Map<number, string>();
  sites.forEach((site, index) => {
    try {
      checkSiteName(site.name);
      const tags = checkTags(site.tags);
      if (urls.has(site.url)) throw new SiteExistsError('url', site.url);
      if (names.has(site.name)) throw new SiteExistsError('name', site.name);
      urls.add(site.url);
      names.add(site.name);
      rows.push({ index, id: newSiteId(), site, tags });
    } catch (err) {
      if (!(err instanceof SiteExistsError || err instanceof RangeError)) throw err;
      refused.set(index, err.message);
    }
  });
  return { rows, refused };
}

/** Each given site's result, in the order given, from what was inserted (read back by id) and refused. */
export function batchResults(
  count: number,
  rows: readonly BatchRow[],
  refused: ReadonlyMap<number, string>,
  added: readonly FleetSite[],
): AddedSite[] {
  const byId = new Map(added.map((s) => [s.id, s]));
  const byIndex = new Map(rows.map((r) => [r.index, r.id]));
  return Array.from({ length: count }, (_, i): AddedSite => {
    const id = byIndex.get(i);
    const site = id === undefined ? undefined : byId.get(id);
    if (site) return { site };
    return { reason: refused.get(i) ?? 'not added' };
  });
}

/** Tag rows (ordered by site, then position) grouped by site id. */
export function groupTags(rows: ReadonlyArray<{ site_id: string; tag: string }>): Map<string, string[]> {
  const tags = new Map<string, string[]>();
  for (const t of rows) {
    const list = tags.get(t.site_id) ?? [];
    list.push(t.tag);
    tags.set(t.site_id, list);
  }
  return tags;
}
