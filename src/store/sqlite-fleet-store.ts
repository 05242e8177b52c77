import type Database from 'better-sqlite3';
import { approvalOf, checkSiteName, checkTags, newSiteId, siteFromRow, type SiteRow } from './fleet-records.js';
import {
  siteKindCountsSql,
  SITE_TAG_COUNTS_SQL,
  siteListSql,
  summaryOf,
  type KindCountRow,
} from './fleet-site-query.js';
import {
  SiteExistsError,
  type FleetSite,
  type FleetStore,
  type NewFleetSite,
  type SiteFilter,
  type SiteHealth,
  type SitePage,
  type SitePageRequest,
  type SitePatch,
  type SiteSummary,
  heldBySite,
  heldCountsOf,
  HELD_KEY_COUNTS_SQL,
  type HeldKeyCounts,
  type HeldKeys,
} from './fleet-store.js';
import { batchResults, groupTags, planSiteBatch, type AddedSite } from './fleet-batch.js';
import { SqliteFleetLedger } from './sqlite-fleet-ledger.js';
import { openSealed, type VaultKeyProvider } from './vault.js';

type Stmt = (sql: string) => Database.Statement;

/**
 * The fleet registry on SQLite (fleet-store.ts): `fleet_sites` plus `fleet_site_tags`. Desired
 * versions, the audit log and safe-to-roll records are the ledger's (sqlite-fleet-ledger.ts).
 */
export class SqliteFleetStore implements FleetStore {
  private readonly ledger: SqliteFleetLedger;

  constructor(
    private readonly db: Database.Database,
    private readonly vault: VaultKeyProvider,
    private readonly stmt: Stmt,
  ) {
    this.ledger = new SqliteFleetLedger(db, stmt);
  }

  async addSite(site: NewFleetSite): Promise<FleetSite> {
    checkSiteName(site.name);
    const tags = checkTags(site.tags);
    const sealed = site.apiKey === null ? null : this.vault.box().seal(site.apiKey);
    const id = newSiteId();
    const now = new Date().toISOString();
    this.db
      .transaction(() => {
        this.refuseTaken(site.url, site.name, null);
        this.stmt(
          `INSERT INTO fleet_sites (id, url, name, api_key_sealed, source, added_at, added_by, approval, approved_at, approved_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(id, site.url, site.name, sealed, site.source, now, site.addedBy, ...approvalOf(site, now));
        this.writeTags(id, tags);
      })
      .immediate();
    return (await this.getSite(id)) as FleetSite;
  }

  async addSites(sites: readonly NewFleetSite[]): Promise<AddedSite[]> {
    if (sites.length === 0) return [];
    const box = sites.some((s) => s.apiKey !== null) ? this.vault.box() : null;
    const at = new Date().toISOString();
    const plan = this.db
      .transaction(() => {
        const taken = this.stmt(
          `SELECT url, name FROM fleet_sites
           WHERE url IN (SELECT value FROM json_each(?)) OR name IN (SELECT value FROM json_each(?))`,
        ).all(JSON.stringify(sites.map((s) => s.url)), JSON.stringify(sites.map((s) => s.name))) as Array<{
          url: string;
          name: string;
        }>;
        const planned = planSiteBatch(sites, taken);
        const insert = this.stmt(
          `INSERT INTO fleet_sites (id, url, name, api_key_sealed, source, added_at, added_by)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const { id, site, tags } of planned.rows) {
          const sealed = site.apiKey === null ? null : (box?.seal(site.apiKey) ?? null);
          insert.run(id, site.url, site.name, sealed, site.source, at, site.addedBy);
          this.writeTags(id, tags);
        }
        return planned;
      })
      .immediate();
    const ids = JSON.stringify(plan.rows.map((r) => r.id));
    // Read back by id: what the store holds is what the import reports.
    const rows = this.stmt('SELECT * FROM fleet_sites WHERE id IN (SELECT value FROM json_each(?))').all(
      ids,
    ) as SiteRow[];
    const tags = groupTags(
      this.stmt(
        'SELECT site_id, tag FROM fleet_site_tags WHERE site_id IN (SELECT value FROM json_each(?)) ORDER BY site_id, position',
      ).all(ids) as Array<{ site_id: string; tag: string }>,
    );
    const added = rows.map((row) => siteFromRow(row, tags.get(row.id) ?? []));
    return batchResults(sites.length, plan.rows, plan.refused, added);
  }

  async getSite(ref: string): Promise<FleetSite | undefined> {
    const row = this.stmt(
      'SELECT * FROM fleet_sites WHERE id = ? OR name = ? OR url = ? ORDER BY id = ? DESC, name = ? DESC LIMIT 1',
    ).get(ref, ref, ref, ref, ref) as SiteRow | undefined;
    return row && siteFromRow(row, this.tagsOf(row.id));
  }

  async listSites(filter: SiteFilter = {}): Promise<FleetSite[]> {
    return (await this.pageSites(filter)).sites;
  }

  async pageSites(filter: SiteFilter, page: SitePageRequest = {}): Promise<SitePage> {
    const { rows: list, count } = siteListSql(filter, page, 'sqlite');
    // One read transaction: the page and the total see the same fleet.
    return this.db.transaction(() => {
      const rows = this.db.prepare(list.sql).all(...list.params) as SiteRow[];
      const total = (this.db.prepare(count.sql).get(...count.params) as { n: number }).n;
      // One query for the tags of every site listed, not one per site.
      const tags = new Map<string, string[]>();
      const tagRows = (
        page.limit === undefined
          ? this.stmt('SELECT site_id, tag FROM fleet_site_tags ORDER BY site_id, position').all()
          : this.stmt(
              'SELECT site_id, tag FROM fleet_site_tags WHERE site_id IN (SELECT value FROM json_each(?)) ORDER BY site_id, position',
            ).all(JSON.stringify(rows.map((r) => r.id)))
      ) as Array<{ site_id: string; tag: string }>;
      for (const t of tagRows) {
        const list = tags.get(t.site_id) ?? [];
        list.push(t.tag);
        tags.set(t.site_id, list);
      }
      return { sites: rows.map((row) => siteFromRow(row, tags.get(row.id) ?? [])), total };
    })();
  }

  async siteSummary(scope: { tags?: readonly string[] } = {}): Promise<SiteSummary> {
    const counts = siteKindCountsSql(scope.tags ?? [], 'sqlite');
    return this.db.transaction(() => {
      const kinds = this.stmt(counts.sql).all(...counts.params) as KindCountRow[];
      const tags = this.stmt(SITE_TAG_COUNTS_SQL).all() as Array<{ tag: string; n: number }>;
      return summaryOf(kinds, tags);
    })();
  }

  async updateSite(id: string, patch: SitePatch): Promise<FleetSite | undefined> {
    if (patch.name !== undefined) checkSiteName(patch.name);
    const tags = patch.tags === undefined ? undefined : checkTags(patch.tags);
    const sealed = typeof patch.apiKey === 'string' ? this.vault.box().seal(patch.apiKey) : null;
    const found = this.db
      .transaction(() => {
        const row = this.stmt('SELECT * FROM fleet_sites WHERE id = ?').get(id) as SiteRow | undefined;
        if (!row) return false;
        if (patch.name !== undefined) {
          this.refuseTaken(null, patch.name, id);
          this.stmt('UPDATE fleet_sites SET name = ? WHERE id = ?').run(patch.name, id);
        }
        if (patch.apiKey !== undefined)
          this.stmt('UPDATE fleet_sites SET api_key_sealed = ? WHERE id = ?').run(sealed, id);
        if (patch.desiredVersionId !== undefined) {
          this.stmt('UPDATE fleet_sites SET desired_version_id = ? WHERE id = ?').run(
            patch.desiredVersionId,
            id,
          );
        }
        if (tags !== undefined) this.writeTags(id, tags);
        if (patch.approvedBy !== undefined) {
          this.stmt(
            "UPDATE fleet_sites SET approval = 'approved', approved_at = ?, approved_by = ? WHERE id = ? AND approval = 'pending'",
          ).run(new Date().toISOString(), patch.approvedBy, id);
        }
        return true;
      })
      .immediate();
    return found ? this.getSite(id) : undefined;
  }

  async removeSite(id: string): Promise<boolean> {
    return this.stmt('DELETE FROM fleet_sites WHERE id = ?').run(id).changes === 1;
  }

  async siteApiKey(id: string): Promise<string | null> {
    const row = this.stmt('SELECT api_key_sealed FROM fleet_sites WHERE id = ?').get(id) as
      { api_key_sealed: string | null } | undefined;
    return row?.api_key_sealed ? openSealed(this.vault, row.api_key_sealed) : null;
  }

  async recordHealth(id: string, h: SiteHealth): Promise<void> {
    const b = (v: boolean | null) => (v === null ? null : v ? 1 : 0);
    this.stmt(
      `UPDATE fleet_sites SET reachable = ?, pk_as_desired = ?, sk_as_desired = ?, mode = ?, latency_ms = ?,
         checked_at = ?, problem = ?, checked_version_id = ? WHERE id = ?`,
    ).run(
      b(h.reachable),
      b(h.pk_as_desired),
      b(h.sk_as_desired),
      h.mode,
      h.latency_ms,
      h.checked_at,
      h.problem,
      h.version_id,
      id,
    );
  }

  async recordHeldKeys(id: string, held: HeldKeys, seenAt: string): Promise<void> {
    const put = this.stmt(
      `INSERT INTO fleet_site_held_keys (site_id, setting, fingerprint, seen_at)
       SELECT id, ?, ?, ? FROM fleet_sites WHERE id = ?
       ON CONFLICT (site_id, setting) DO UPDATE SET fingerprint = excluded.fingerprint, seen_at = excluded.seen_at`,
    );
    this.db.transaction(() => {
      for (const [setting, fp] of Object.entries(held)) if (fp !== undefined) put.run(setting, fp, seenAt, id);
    })();
  }

  async heldKeyCounts(): Promise<HeldKeyCounts> {
    return this.db.transaction(() => {
      const rows = this.stmt(HELD_KEY_COUNTS_SQL).all() as Array<{ setting: string; fingerprint: string | null; n: number }>;
      const sites = (this.stmt('SELECT COUNT(*) AS n FROM fleet_sites').get() as { n: number }).n;
      return heldCountsOf(rows, sites);
    })();
  }

  async heldKeysOf(siteIds: readonly string[]): Promise<Map<string, HeldKeys>> {
    if (siteIds.length === 0) return new Map();
    const rows = this.stmt(
      'SELECT site_id, setting, fingerprint FROM fleet_site_held_keys WHERE site_id IN (SELECT value FROM json_each(?))',
    ).all(JSON.stringify(siteIds)) as Array<{ site_id: string; setting: string; fingerprint: string | null }>;
    return heldBySite(rows);
  }

  desired = (...a: Parameters<FleetStore['desired']>) => this.ledger.desired(...a);
  setDesired = (...a: Parameters<FleetStore['setDesired']>) => this.ledger.setDesired(...a);
  audit = (...a: Parameters<FleetStore['audit']>) => this.ledger.audit(...a);
  listAudit = (...a: Parameters<FleetStore['listAudit']>) => this.ledger.listAudit(...a);
  markSafeToRoll = (...a: Parameters<FleetStore['markSafeToRoll']>) => this.ledger.markSafeToRoll(...a);
  safeToRoll = (...a: Parameters<FleetStore['safeToRoll']>) => this.ledger.safeToRoll(...a);

  private tagsOf(id: string): string[] {
    return (
      this.stmt('SELECT tag FROM fleet_site_tags WHERE site_id = ? ORDER BY position').all(id) as Array<{
        tag: string;
      }>
    ).map((r) => r.tag);
  }

  private writeTags(id: string, tags: string[]): void {
    this.stmt('DELETE FROM fleet_site_tags WHERE site_id = ?').run(id);
    const insert = this.stmt('INSERT INTO fleet_site_tags (site_id, tag, position) VALUES (?, ?, ?)');
    tags.forEach((tag, i) => insert.run(id, tag, i));
  }

  /** Checked inside the write transaction, so two adds of one URL cannot both pass. */
  private refuseTaken(url: string | null, name: string | null, except: string | null): void {
    const taken = (col: 'url' | 'name', v: string) =>
      this.stmt(`SELECT id FROM fleet_sites WHERE ${col} = ? AND id IS NOT ?`).get(v, except) !== undefined;
    if (url !== null && taken('url', url)) throw new SiteExistsError('url', url);
    if (name !== null && taken('name', name)) throw new SiteExistsError('name', name);
  }
}
