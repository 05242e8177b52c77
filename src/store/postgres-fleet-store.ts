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
import { PostgresFleetLedger } from './postgres-fleet-ledger.js';
import type { PgDb, PgQuery } from './postgres-db.js';
import { openSealed, type VaultKeyProvider } from './vault.js';

/**
 * The fleet registry on Postgres, the same rules as sqlite-fleet-store.ts: `fleet_sites` plus
 * `fleet_site_tags`, a taken URL or name refused inside the write transaction (and by the UNIQUE
 * constraints, should two dashboards race).
 */
export class PostgresFleetStore implements FleetStore {
  private readonly ledger: PostgresFleetLedger;

  constructor(
    private readonly db: PgDb,
    private readonly vault: VaultKeyProvider,
  ) {
    this.ledger = new PostgresFleetLedger(db);
  }

  async addSite(site: NewFleetSite): Promise<FleetSite> {
    checkSiteName(site.name);
    const tags = checkTags(site.tags);
    const sealed = site.apiKey === null ? null : this.vault.box().seal(site.apiKey);
    const id = newSiteId();
    const now = new Date().toISOString();
    await this.db.tx(async (q) => {
      await q.run('LOCK TABLE fleet_sites IN SHARE ROW EXCLUSIVE MODE');
      await this.refuseTaken(q, site.url, site.name, null);
      await q.run(
        `INSERT INTO fleet_sites (id, url, name, api_key_sealed, source, added_at, added_by, approval, approved_at, approved_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [id, site.url, site.name, sealed, site.source, now, site.addedBy, ...approvalOf(site, now)],
      );
      await this.writeTags(q, id, tags);
    });
    return (await this.getSite(id)) as FleetSite;
  }

  async addSites(sites: readonly NewFleetSite[]): Promise<AddedSite[]> {
    if (sites.length === 0) return [];
    const box = sites.some((s) => s.apiKey !== null) ? this.vault.box() : null;
    const at = new Date().toISOString();
    const plan = await this.db.tx(async (q) => {
      await q.run('LOCK TABLE fleet_sites IN SHARE ROW EXCLUSIVE MODE');
      const taken = await q.rows<{ url: string; name: string }>(
        'SELECT url, name FROM fleet_sites WHERE url = ANY($1::text[]) OR name = ANY($2::text[])',
        [sites.map((s) => s.url), sites.map((s) => s.name)],
      );
      const { rows, refused } = planSiteBatch(sites, taken);
      if (rows.length === 0) return { rows, refused };
      // One statement for the sites, one for their tags, however many there are.
      await q.run(
        `INSERT INTO fleet_sites (id, url, name, api_key_sealed, source, added_at, added_by)
         SELECT id, url, name, sealed, source, $6, added_by
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $7::text[])
           WITH ORDINALITY AS t(id, url, name, sealed, source, added_by, ord)
         ORDER BY ord`,
        [
          rows.map((r) => r.id),
          rows.map((r) => r.site.url),
          rows.map((r) => r.site.name),
          rows.map((r) => (r.site.apiKey === null ? null : (box?.seal(r.site.apiKey) ?? null))),
          rows.map((r) => r.site.source),
          at,
          rows.map((r) => r.site.addedBy),
        ],
      );
      const tags = rows.flatMap((r) => r.tags.map((tag, position) => ({ id: r.id, tag, position })));
      if (tags.length > 0) {
        await q.run(
          `INSERT INTO fleet_site_tags (site_id, tag, position)
           SELECT * FROM unnest($1::text[], $2::text[], $3::integer[])`,
          [tags.map((t) => t.id), tags.map((t) => t.tag), tags.map((t) => t.position)],
        );
      }
      return { rows, refused };
    });
    const ids = plan.rows.map((r) => r.id);
    if (ids.length === 0) return batchResults(sites.length, plan.rows, plan.refused, []);
    // Read back by id (two queries): what the store holds is what the import reports.
    const rows = await this.db.rows<SiteRow>('SELECT * FROM fleet_sites WHERE id = ANY($1::text[])', [ids]);
    const tagRows = await this.db.rows<{ site_id: string; tag: string }>(
      'SELECT site_id, tag FROM fleet_site_tags WHERE site_id = ANY($1::text[]) ORDER BY site_id, position',
      [ids],
    );
    const tags = groupTags(tagRows);
    const added = rows.map((row) => siteFromRow(row, tags.get(row.id) ?? []));
    return batchResults(sites.length, plan.rows, plan.refused, added);
  }

  async getSite(ref: string): Promise<FleetSite | undefined> {
    const row = await this.db.one<SiteRow>(
      'SELECT * FROM fleet_sites WHERE id = $1 OR name = $1 OR url = $1 ORDER BY id = $1 DESC, name = $1 DESC LIMIT 1',
      [ref],
    );
    return row && siteFromRow(row, await this.tagsOf(row.id));
  }

  async listSites(filter: SiteFilter = {}): Promise<FleetSite[]> {
    return (await this.pageSites(filter)).sites;
  }

  async pageSites(filter: SiteFilter, page: SitePageRequest = {}): Promise<SitePage> {
    const { rows: list, count } = siteListSql(filter, page, 'postgres');
    // REPEATABLE READ: the page, its tags and the total see one snapshot of the fleet.
    return this.db.tx(async (q) => {
      await q.run('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const rows = await q.rows<SiteRow>(list.sql, list.params);
      const total = Number((await q.one<{ n: string }>(count.sql, count.params))?.n ?? 0);
      const tags = new Map<string, string[]>();
      const tagRows =
        page.limit === undefined
          ? await q.rows<{ site_id: string; tag: string }>(
              'SELECT site_id, tag FROM fleet_site_tags ORDER BY site_id, position',
            )
          : await q.rows<{ site_id: string; tag: string }>(
              'SELECT site_id, tag FROM fleet_site_tags WHERE site_id = ANY($1::text[]) ORDER BY site_id, position',
              [rows.map((r) => r.id)],
            );
      for (const t of tagRows) {
        const list = tags.get(t.site_id) ?? [];
        list.push(t.tag);
        tags.set(t.site_id, list);
      }
      return { sites: rows.map((row) => siteFromRow(row, tags.get(row.id) ?? [])), total };
    });
  }

  async siteSummary(scope: { tags?: readonly string[] } = {}): Promise<SiteSummary> {
    const counts = siteKindCountsSql(scope.tags ?? [], 'postgres');
    return this.db.tx(async (q) => {
      await q.run('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const kinds = await q.rows<KindCountRow>(counts.sql, counts.params);
      const tags = await q.rows<{ tag: string; n: string }>(SITE_TAG_COUNTS_SQL);
      return summaryOf(kinds, tags);
    });
  }

  async updateSite(id: string, patch: SitePatch): Promise<FleetSite | undefined> {
    if (patch.name !== undefined) checkSiteName(patch.name);
    const tags = patch.tags === undefined ? undefined : checkTags(patch.tags);
    const sealed = typeof patch.apiKey === 'string' ? this.vault.box().seal(patch.apiKey) : null;
    const found = await this.db.tx(async (q) => {
      if (!(await q.one('SELECT 1 FROM fleet_sites WHERE id = $1 FOR UPDATE', [id]))) return false;
      if (patch.name !== undefined) {
        await q.run('LOCK TABLE fleet_sites IN SHARE ROW EXCLUSIVE MODE');
        await this.refuseTaken(q, null, patch.name, id);
        await q.run('UPDATE fleet_sites SET name = $1 WHERE id = $2', [patch.name, id]);
      }
      if (patch.apiKey !== undefined)
        await q.run('UPDATE fleet_sites SET api_key_sealed = $1 WHERE id = $2', [sealed, id]);
      if (patch.desiredVersionId !== undefined)
        await q.run('UPDATE fleet_sites SET desired_version_id = $1 WHERE id = $2', [
          patch.desiredVersionId,
          id,
        ]);
      if (tags !== undefined) await this.writeTags(q, id, tags);
      if (patch.approvedBy !== undefined)
        await q.run(
          "UPDATE fleet_sites SET approval = 'approved', approved_at = $1, approved_by = $2 WHERE id = $3 AND approval = 'pending'",
          [new Date().toISOString(), patch.approvedBy, id],
        );
      return true;
    });
    return found ? this.getSite(id) : undefined;
  }

  async removeSite(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM fleet_sites WHERE id = $1', [id])) === 1;
  }

  async siteApiKey(id: string): Promise<string | null> {
    const row = await this.db.one<{ api_key_sealed: string | null }>(
      'SELECT api_key_sealed FROM fleet_sites WHERE id = $1',
      [id],
    );
    return row?.api_key_sealed ? openSealed(this.vault, row.api_key_sealed) : null;
  }

  async recordHealth(id: string, h: SiteHealth): Promise<void> {
    await this.db.run(
      `UPDATE fleet_sites SET reachable = $1, pk_as_desired = $2, sk_as_desired = $3, mode = $4, latency_ms = $5,
         checked_at = $6, problem = $7, checked_version_id = $8 WHERE id = $9`,
      [
        h.reachable,
        h.pk_as_desired,
        h.sk_as_desired,
        h.mode,
        h.latency_ms,
        h.checked_at,
        h.problem,
        h.version_id,
        id,
      ],
    );
  }

  async recordHeldKeys(id: string, held: HeldKeys, seenAt: string): Promise<void> {
    const known = Object.entries(held).filter((e): e is [string, string | null] => e[1] !== undefined);
    if (known.length === 0) return;
    // One statement for every setting; a site removed meanwhile inserts nothing.
    await this.db.run(
      `INSERT INTO fleet_site_held_keys (site_id, setting, fingerprint, seen_at)
       SELECT s.id, k.setting, k.fingerprint, $3 FROM fleet_sites s,
         unnest($1::text[], $2::text[]) AS k (setting, fingerprint) WHERE s.id = $4
       ON CONFLICT (site_id, setting) DO UPDATE SET fingerprint = excluded.fingerprint, seen_at = excluded.seen_at`,
      [known.map((e) => e[0]), known.map((e) => e[1]), seenAt, id],
    );
  }

  async heldKeyCounts(): Promise<HeldKeyCounts> {
    return this.db.tx(async (q) => {
      const rows = await q.rows<{ setting: string; fingerprint: string | null; n: string }>(HELD_KEY_COUNTS_SQL);
      const sites = await q.one<{ n: string }>('SELECT COUNT(*) AS n FROM fleet_sites');
      return heldCountsOf(rows, sites?.n ?? 0);
    });
  }

  async heldKeysOf(siteIds: readonly string[]): Promise<Map<string, HeldKeys>> {
    if (siteIds.length === 0) return new Map();
    const rows = await this.db.rows<{ site_id: string; setting: string; fingerprint: string | null }>(
      'SELECT site_id, setting, fingerprint FROM fleet_site_held_keys WHERE site_id = ANY($1::text[])',
      [siteIds],
    );
    return heldBySite(rows);
  }

  desired = (...a: Parameters<FleetStore['desired']>) => this.ledger.desired(...a);
  setDesired = (...a: Parameters<FleetStore['setDesired']>) => this.ledger.setDesired(...a);
  audit = (...a: Parameters<FleetStore['audit']>) => this.ledger.audit(...a);
  listAudit = (...a: Parameters<FleetStore['listAudit']>) => this.ledger.listAudit(...a);
  markSafeToRoll = (...a: Parameters<FleetStore['markSafeToRoll']>) => this.ledger.markSafeToRoll(...a);
  safeToRoll = (...a: Parameters<FleetStore['safeToRoll']>) => this.ledger.safeToRoll(...a);

  private async tagsOf(id: string): Promise<string[]> {
    return (
      await this.db.rows<{ tag: string }>(
        'SELECT tag FROM fleet_site_tags WHERE site_id = $1 ORDER BY position',
        [id],
      )
    ).map((r) => r.tag);
  }

  private async writeTags(q: PgQuery, id: string, tags: string[]): Promise<void> {
    await q.run('DELETE FROM fleet_site_tags WHERE site_id = $1', [id]);
    if (tags.length === 0) return;
    await q.run(
      'INSERT INTO fleet_site_tags (site_id, tag, position) SELECT $1, t.tag, t.pos - 1 FROM unnest($2::text[]) WITH ORDINALITY AS t(tag, pos)',
      [id, tags],
    );
  }

  private async refuseTaken(
    q: PgQuery,
    url: string | null,
    name: string | null,
    except: string | null,
  ): Promise<void> {
    const taken = async (col: 'url' | 'name', v: string) =>
      (await q.one(`SELECT id FROM fleet_sites WHERE ${col} = $1 AND id IS DISTINCT FROM $2`, [
        v,
        except,
      ])) !== undefined;
    if (url !== null && (await taken('url', url))) throw new SiteExistsError('url', url);
    if (name !== null && (await taken('name', name))) throw new SiteExistsError('name', name);
  }
}
