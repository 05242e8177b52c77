import { sql } from './sql/kysely.js';
import type { CompiledQuery, Kysely, Transaction } from 'kysely';
import { FleetLedger } from './fleet-ledger.js';
import { checkSiteName, checkTags, planSiteBatch, siteFromRow, type SiteRow } from './fleet-records.js';
import { PROBLEMS_FIRST, siteFilter, sitesWithVersion, summarize } from './fleet-site-query.js';
import {
  SiteExistsError, type AddedSite, type FleetSite, type FleetStore, type HeldKeyCounts, type HeldKeys, type NewFleetSite,
  type SiteFilter, type SiteHealth, type SitePage, type SitePageRequest, type SitePatch, type SiteSummary,
} from './fleet-store.js';
import { prepare, type StoreDb } from './sql/store-db.js';
import type { StateTables } from './sql/tables.js';
import { openSealed, type VaultKeyProvider } from './key-vault.js';

/** Every write that can take a URL or a name holds this lock (the UNIQUE constraints back it up). */
const SITES_LOCK = 'keyfleet.fleet_sites';
/** Rows per multi-row INSERT of an import: far below either backend's limit on bound parameters. */
const CHUNK = 1000;

/** The `fleet_site_tags` rows of a site's tags, in their order. */
const tagRows = (siteId: string, tags: readonly string[]) => tags.map((tag, position) => ({ site_id: siteId, tag, position }));

/**
 * The fleet registry (fleet-store.ts) on either backend: `fleet_sites` plus `fleet_site_tags`, a
 * taken URL or name refused inside the write transaction. Desired versions, the audit log and
 * safe-to-roll records are its base class's (fleet-ledger.ts).
 */
export class SqlFleetStore extends FleetLedger implements FleetStore {
  /** recordHeldKeys' statement, per number of settings recorded. */
  private readonly putHeld = new Map<number, (values: Record<string, unknown>) => CompiledQuery>();
  /** Per site on every push, verify and bulk action: compiled once. */
  private readonly putHealth = prepare(this.db.k, (k, p) =>
    k.updateTable('fleet_sites').where('id', '=', p('id')).set({
      reachable: p('reachable'), pk_as_desired: p('pk_as_desired'), sk_as_desired: p('sk_as_desired'), mode: p('mode'),
      latency_ms: p('latency_ms'), checked_at: p('checked_at'), problem: p('problem'), checked_version_id: p('version_id'),
    }),
  );
  private readonly siteByRef = prepare(this.db.k, (k, p) =>
    k.selectFrom('fleet_sites').selectAll()
      .where((eb) => eb.or([eb('id', '=', p('ref')), eb('name', '=', p('ref')), eb('url', '=', p('ref'))]))
      .orderBy(sql`id = ${p('ref')}`, 'desc').orderBy(sql`name = ${p('ref')}`, 'desc').limit(1),
  );
  private readonly tagsOfSite = prepare(this.db.k, (k, p) =>
    k.selectFrom('fleet_site_tags').select('tag').where('site_id', '=', p('id')).orderBy('position'),
  );

  constructor(db: StoreDb<StateTables>, private readonly vault: VaultKeyProvider) {
    super(db);
  }

  async addSite(site: NewFleetSite): Promise<FleetSite> {
    const [added] = await this.insertSites([site]);
    if (added instanceof Error) throw added;
    return added as FleetSite;
  }

  async addSites(sites: readonly NewFleetSite[]): Promise<AddedSite[]> {
    if (sites.length === 0) return [];
    return (await this.insertSites(sites)).map((s) => (s instanceof Error ? { reason: s.message } : { site: s }));
  }

  async getSite(ref: string): Promise<FleetSite | undefined> {
    const [row] = (await this.db.k.executeQuery(this.siteByRef({ ref }))).rows as SiteRow[];
    if (!row) return undefined;
    const { rows } = await this.db.k.executeQuery(this.tagsOfSite({ id: row.id }));
    return siteFromRow(row, (rows as Array<{ tag: string }>).map((t) => t.tag));
  }

  async listSites(filter: SiteFilter = {}): Promise<FleetSite[]> {
    return (await this.pageSites(filter)).sites;
  }

  async pageSites(filter: SiteFilter, page: SitePageRequest = {}): Promise<SitePage> {
    const where = siteFilter(this.db, filter);
    const { limit, offset } = page;
    // One snapshot: the page, its tags and the total see the same fleet.
    return this.snapshot(async (trx) => {
      const matching = trx.selectFrom(sitesWithVersion(trx)).$if(where.length > 0, (q) => q.where((eb) => eb.and(where)));
      const rows = await matching
        .selectAll()
        .$if(page.sort === 'problems', (q) => q.orderBy(PROBLEMS_FIRST))
        .orderBy('seq')
        .$if(limit !== undefined, (q) => q.limit(limit as number))
        // SQLite has no OFFSET without a LIMIT; -1 is none.
        .$if(!!offset, (q) => (limit === undefined && this.db.backend === 'sqlite' ? q.limit(-1) : q).offset(offset as number))
        .execute();
      const { n } = await matching.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
      const ids = limit === undefined ? undefined : rows.map((r) => r.id);
      return { sites: await this.withTags(trx, rows, ids), total: Number(n) };
    });
  }

  async siteSummary(scope: { tags?: readonly string[] } = {}): Promise<SiteSummary> {
    return this.snapshot((trx) => summarize(this.db, trx, scope.tags ?? []));
  }

  async updateSite(id: string, patch: SitePatch): Promise<FleetSite | undefined> {
    if (patch.name !== undefined) checkSiteName(patch.name);
    const tags = patch.tags === undefined ? undefined : checkTags(patch.tags);
    const sealed = typeof patch.apiKey === 'string' ? this.vault.box().seal(patch.apiKey) : null;
    const found = await this.db.tx(async (trx) => {
      const row = trx.selectFrom('fleet_sites').select('approval').where('id', '=', id);
      const site = await row.$if(this.db.backend === 'postgres', (q) => q.forUpdate()).executeTakeFirst();
      if (!site) return false;
      if (patch.name !== undefined) {
        // Checked inside the write transaction under SITES_LOCK, as for an added site.
        await this.db.lock(trx, SITES_LOCK);
        const taken = trx.selectFrom('fleet_sites').select('id').where('name', '=', patch.name).where('id', '<>', id);
        if (await taken.executeTakeFirst()) throw new SiteExistsError('name', patch.name);
      }
      const set = {
        ...(patch.name !== undefined && { name: patch.name }),
        ...(patch.apiKey !== undefined && { api_key_sealed: sealed }),
        ...(patch.desiredVersionId !== undefined && { desired_version_id: patch.desiredVersionId }),
        // Only a pending site is approved (an approved one keeps who approved it, and when).
        ...(patch.approvedBy !== undefined && site.approval === 'pending' && {
          approval: 'approved', approved_at: new Date().toISOString(), approved_by: patch.approvedBy,
        }),
      };
      if (Object.keys(set).length > 0) await trx.updateTable('fleet_sites').set(set).where('id', '=', id).execute();
      if (tags !== undefined) {
        await trx.deleteFrom('fleet_site_tags').where('site_id', '=', id).execute();
        if (tags.length > 0) await trx.insertInto('fleet_site_tags').values(tagRows(id, tags)).execute();
      }
      return true;
    });
    return found ? this.getSite(id) : undefined;
  }

  async removeSite(id: string): Promise<boolean> {
    const { numDeletedRows } = await this.db.k.deleteFrom('fleet_sites').where('id', '=', id).executeTakeFirst();
    return numDeletedRows === 1n;
  }

  async siteApiKey(id: string): Promise<string | null> {
    const row = await this.db.k.selectFrom('fleet_sites').select('api_key_sealed').where('id', '=', id).executeTakeFirst();
    return row?.api_key_sealed ? openSealed(this.vault, row.api_key_sealed) : null;
  }

  async recordHealth(id: string, h: SiteHealth): Promise<void> {
    await this.db.k.executeQuery(this.putHealth({ ...h, id }));
  }

  async recordHeldKeys(id: string, held: HeldKeys, seenAt: string): Promise<void> {
    const known = Object.entries(held).filter((e): e is [string, string | null] => e[1] !== undefined);
    if (known.length === 0) return;
    let put = this.putHeld.get(known.length);
    if (!put) {
      put = prepare(this.db.k, (k, p) => {
        const text = (name: string) => sql<string>`CAST(${p(name)} AS TEXT)`;
        const [first, ...rest] = known.map((_, i) =>
          k.selectNoFrom([text(`s${i}`).as('setting'), text(`f${i}`).as('fingerprint')]),
        );
        const keys = rest.reduce((all, one) => all.unionAll(one), first!);
        // One statement for every setting; a site removed meanwhile inserts nothing.
        return k
          .insertInto('fleet_site_held_keys')
          .columns(['site_id', 'setting', 'fingerprint', 'seen_at'])
          .expression((eb) =>
            eb
              .selectFrom(['fleet_sites as s', keys.as('k')])
              .select(['s.id', 'k.setting', 'k.fingerprint', text('at').as('seen_at')])
              .where('s.id', '=', p('id')),
          )
          .onConflict((oc) =>
            oc.columns(['site_id', 'setting']).doUpdateSet((eb) => ({
              fingerprint: eb.ref('excluded.fingerprint'),
              seen_at: eb.ref('excluded.seen_at'),
            })),
          );
      });
      this.putHeld.set(known.length, put);
    }
    const values = known.flatMap(([setting, fingerprint], i) => [[`s${i}`, setting], [`f${i}`, fingerprint]]);
    await this.db.k.executeQuery(put({ id, at: seenAt, ...Object.fromEntries(values) }));
  }

  async heldKeyCounts(): Promise<HeldKeyCounts> {
    return this.snapshot(async (trx) => {
      const rows = await trx
        .selectFrom('fleet_site_held_keys')
        .select((eb) => ['setting', 'fingerprint', eb.fn.countAll<number | string>().as('n')])
        .groupBy(['setting', 'fingerprint'])
        .execute();
      const sites = trx.selectFrom('fleet_sites').select((eb) => eb.fn.countAll<number | string>().as('n'));
      const { n } = await sites.executeTakeFirstOrThrow();
      const out: HeldKeyCounts = { held: {}, seen: {}, sites: Number(n) };
      for (const r of rows) {
        out.seen[r.setting] = (out.seen[r.setting] ?? 0) + Number(r.n);
        if (r.fingerprint !== null) (out.held[r.setting] ??= {})[r.fingerprint] = Number(r.n);
      }
      return out;
    });
  }

  async heldKeysOf(siteIds: readonly string[]): Promise<Map<string, HeldKeys>> {
    const out = new Map<string, HeldKeys>();
    if (siteIds.length === 0) return out;
    const rows = await this.db.k
      .selectFrom('fleet_site_held_keys')
      .select(['site_id', 'setting', 'fingerprint']).where(this.db.inList('site_id', siteIds)).execute();
    for (const r of rows) out.set(r.site_id, { ...out.get(r.site_id), [r.setting]: r.fingerprint });
    return out;
  }

  /**
   * The sites planSiteBatch accepts, in one transaction under SITES_LOCK (the URLs and names taken are
   * read inside it, so two adds of one URL cannot both pass), read back by id (what the store holds is
   * what is reported); per given site, the site added or why it was not.
   */
  private async insertSites(sites: readonly NewFleetSite[]): Promise<Array<FleetSite | Error>> {
    const at = new Date().toISOString();
    const plan = await this.db.tx(async (trx) => {
      await this.db.lock(trx, SITES_LOCK);
      const urls = this.db.inList('url', sites.map((s) => s.url));
      const names = this.db.inList('name', sites.map((s) => s.name));
      const taken = await trx.selectFrom('fleet_sites').select(['url', 'name']).where((eb) => eb.or([urls, names])).execute();
      const plan = planSiteBatch(sites, taken);
      const added = plan.flatMap((p) => (p instanceof Error ? [] : [p]));
      // One multi-row INSERT per chunk of sites and of their tags, however many there are.
      for (let i = 0; i < added.length; i += CHUNK) {
        const chunk = added.slice(i, i + CHUNK);
        await trx.insertInto('fleet_sites').values(chunk.map((p) => this.rowOf(p.id, p.site, at))).execute();
        const tags = chunk.flatMap((p) => tagRows(p.id, p.tags));
        for (let j = 0; j < tags.length; j += CHUNK)
          await trx.insertInto('fleet_site_tags').values(tags.slice(j, j + CHUNK)).execute();
      }
      return plan;
    });
    const ids = plan.flatMap((p) => (p instanceof Error ? [] : [p.id]));
    const rows = await this.db.k.selectFrom('fleet_sites').selectAll().where(this.db.inList('id', ids)).execute();
    const byId = new Map((await this.withTags(this.db.k, rows, ids)).map((s) => [s.id, s]));
    return plan.map((p) => (p instanceof Error ? p : (byId.get(p.id) ?? new Error('not added'))));
  }

  /**
   * A read-only transaction: REPEATABLE READ on Postgres, a deferred one on SQLite (it neither waits
   * for a writer nor holds one up).
   */
  private snapshot<R>(fn: (trx: Transaction<StateTables>) => Promise<R>): Promise<R> {
    return this.db.k.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(fn);
  }

  /** The `fleet_sites` row of a new site, its key sealed (`approved` unless it registered itself and waits). */
  private rowOf(id: string, site: NewFleetSite, now: string) {
    const approvedNow = site.approval !== 'pending' && site.approvedBy !== undefined;
    return {
      id, url: site.url, name: site.name, source: site.source, added_at: now, added_by: site.addedBy,
      api_key_sealed: site.apiKey === null ? null : this.vault.box().seal(site.apiKey),
      approval: site.approval ?? 'approved',
      approved_at: approvedNow ? now : null,
      approved_by: approvedNow ? (site.approvedBy ?? null) : null,
    };
  }

  /** The rows as FleetSites, with the tags of `ids` (of every site when undefined) read in one query. */
  private async withTags(k: Kysely<StateTables>, rows: SiteRow[], ids: readonly string[] | undefined): Promise<FleetSite[]> {
    const tagged = await k
      .selectFrom('fleet_site_tags')
      .select(['site_id', 'tag'])
      .$if(ids !== undefined, (q) => q.where(this.db.inList('site_id', ids ?? [])))
      .orderBy('site_id').orderBy('position').execute();
    const tags = new Map<string, string[]>();
    for (const t of tagged) tags.set(t.site_id, [...(tags.get(t.site_id) ?? []), t.tag]);
    return rows.map((row) => siteFromRow(row, tags.get(row.id) ?? []));
  }
}
