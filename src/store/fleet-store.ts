/**
 * The dashboard's half of keyfleet's state (DESIGN §3): the fleet registry (sites, tags, each site's
 * own API key sealed with the vault key, its desired key version and last known status), the fleet's
 * desired key versions (a default plus tag overrides), the audit log, and the moment each key
 * version was verified everywhere (safe to roll the old key in Stripe). It lives in the same
 * database as runs and the vault: `StateStore.fleet`.
 *
 * A site's API key is the only value held here, and only sealed; every read returns it masked
 * (`has_api_key`) except `siteApiKey`, which the push engine and the template-facing auth use.
 *
 * @example
 *   const site = await store.fleet.addSite({ url, name: 'shop', tags: ['eu'], apiKey: null, source: 'admin', addedBy: 'admin' });
 *   await store.fleet.setDesired({ tag: 'eu' }, 'v3', 'admin');
 *   await store.fleet.audit({ actor: 'admin', action: 'site.add', target: site.id, detail: { url } });
 */
/** One given site of `FleetStore.addSites`: the site added, or why it was not. */
export type AddedSite = { site: FleetSite } | { reason: string };

export type SiteSource = 'admin' | 'import' | 'register';

/** `pending`: registered itself with the token and waits for an admin; nothing is ever sent to it. */
export type SiteApproval = 'approved' | 'pending';

/** What the last check of a site found (a push outcome or a periodic verify). */
export interface SiteHealth {
  reachable: boolean;
  /** null when not checked (no desired pk, or the site could not be read). */
  pk_as_desired: boolean | null;
  sk_as_desired: boolean | null;
  mode: 'test' | 'live' | null;
  latency_ms: number | null;
  /** ISO-8601 UTC. */
  checked_at: string;
  /** The catalog code of what is wrong (`timeout`, `verify_mismatch`, …), or null. */
  problem: string | null;
  /** The key version the site was compared with. */
  version_id: string | null;
}

export interface FleetSite {
  /** `s_` + 10 characters: stable, typable, never reused. */
  id: string;
  /** Normalised base URL (site-url.ts); unique. */
  url: string;
  /** Unique; the template-facing routes accept it in place of the id. */
  name: string;
  tags: string[];
  /** Whether the site has its own API key (else TEMPLATE_MASTER_API_KEY opens it). Never the key. */
  has_api_key: boolean;
  /** The site's own desired version; null means its tags' override or the fleet default. */
  desired_version_id: string | null;
  source: SiteSource;
  added_at: string;
  added_by: string;
  approval: SiteApproval;
  /** When and by whom a registered site was approved; null for one added approved. */
  approved_at: string | null;
  approved_by: string | null;
  health: SiteHealth | null;
}

export interface NewFleetSite {
  url: string;
  name: string;
  tags: string[];
  apiKey: string | null;
  source: SiteSource;
  addedBy: string;
  /** `approved` when absent. */
  approval?: SiteApproval;
  /** Who approved it at once (`allow-list`), when `approval` is `approved` for a registration. */
  approvedBy?: string;
}

export interface SitePatch {
  name?: string;
  tags?: string[];
  /** null removes the site's own key. */
  apiKey?: string | null;
  desiredVersionId?: string | null;
  /** Approves a pending site (approval, approved_at, approved_by). */
  approvedBy?: string;
}

/**
 * The dashboard's status filters (`GET /api/admin/sites?problem=…`), by the views' rules (spelled out
 * in fleet-site-query.ts): `any` is unreachable, an error or drifted; `none` is checked and in sync.
 */
export type SiteStatusFilter = 'any' | 'unreachable' | 'drift' | 'error' | 'unchecked' | 'none';

export interface SiteFilter {
  /** Sites carrying any of these tags. */
  tags?: string[];
  /** Sites with a problem, or drifted from what they were last compared with. */
  problem?: boolean;
  status?: SiteStatusFilter;
  /** Case-insensitive substring of the URL or the name. */
  q?: string;
  /** Sites whose id, name or URL is one of these (exactly): a run's sites, a picked few. */
  refs?: string[];
}

/** A page of a filtered list: `limit` sites at most (all when absent) after skipping `offset`. */
export interface SitePageRequest {
  limit?: number;
  offset?: number;
  /** `added` (default): in the order sites were added; `problems`: errors, drifted, unreachable, unchecked first. */
  sort?: 'added' | 'problems';
}

/** `total`: how many sites match the filter, on every page. */
export interface SitePage { sites: FleetSite[]; total: number }

/** The kinds the dashboard's status tiles count (a site is in exactly one; `all` is the fleet). */
export type SiteStatusKind = 'ok' | 'drifted' | 'unreachable' | 'error' | 'unchecked';

/** Fleet-wide counts for the dashboard: sites per status kind, sites per tag. */
export interface SiteSummary {
  statuses: Record<SiteStatusKind | 'all', number>;
  tags: Record<string, number>;
  /** Per effective desired version: the sites that should hold it, and those verified holding it. */
  versions: Record<string, { sites: number; in_sync: number }>;
}

/** `fleet` is the default for every site; `tags` override it for sites carrying the tag. */
export interface DesiredVersions { fleet: string | null; tags: Record<string, string> }

/** `detail` never holds a value: the store masks anything secret-shaped again before writing. */
export interface AuditEntry {
  id: number; at: string; actor: string; action: string; target: string | null; detail: Record<string, unknown>;
}

/** `verified_at`: when the last site was verified holding this version. */
export interface SafeToRoll { version_id: string; verified_at: string; sites: number }

/**
 * What a site was seen holding, per setting: a fingerprint, null for no value, absent when the read
 * could not tell (a seed site's secret). Recorded by every verify and every push (fleet_site_held_keys).
 */
export type HeldKeys = Partial<Record<string, string | null>>;

/** Over the whole fleet, per setting: the sites seen holding each fingerprint (`held`), and those read at all (`seen`). */
export interface HeldKeyCounts { held: Record<string, Record<string, number>>; seen: Record<string, number>; sites: number }

/** A URL or name another site already has (409 `site_exists`). */
export class SiteExistsError extends Error {
  readonly code = 'site_exists';
  constructor(readonly field: 'url' | 'name', value: string) {
    super(`A site with this ${field} already exists (${value}).`);
  }
}

export interface FleetStore {
  /** Throws SiteExistsError when the URL or name is taken. */
  addSite(site: NewFleetSite): Promise<FleetSite>;
  /** Many sites in one transaction (an import), by addSite's rules (a URL or name taken earlier in the batch too), in order. */
  addSites(sites: readonly NewFleetSite[]): Promise<AddedSite[]>;
  /** By id, then by name, then by URL. */
  getSite(ref: string): Promise<FleetSite | undefined>;
  /** In the order they were added. */
  listSites(filter?: SiteFilter): Promise<FleetSite[]>;
  /** One page of `listSites(filter)`, same order, paged in the query, with the count of every match. */
  pageSites(filter: SiteFilter, page?: SitePageRequest): Promise<SitePage>;
  /** Counted in the query: statuses and versions over the sites with any of `scope.tags` (else the fleet), tags fleet-wide. */
  siteSummary(scope?: { tags?: readonly string[] }): Promise<SiteSummary>;
  updateSite(id: string, patch: SitePatch): Promise<FleetSite | undefined>;
  /** false when there was no such site. */
  removeSite(id: string): Promise<boolean>;
  /** The site's own API key, opened from the vault; null when it has none. */
  siteApiKey(id: string): Promise<string | null>;
  recordHealth(id: string, health: SiteHealth): Promise<void>;
  /** Replaces what the site was last seen holding for each setting given (others stay as they were). */
  recordHeldKeys(id: string, held: HeldKeys, seenAt: string): Promise<void>;
  /** Counted in the query over the whole fleet. */
  heldKeyCounts(): Promise<HeldKeyCounts>;
  /** What each of these sites was last seen holding (a page of them: one query). */
  heldKeysOf(siteIds: readonly string[]): Promise<Map<string, HeldKeys>>;
  desired(): Promise<DesiredVersions>;
  /** No tag: the fleet default. `versionId` null removes a tag override (the default cannot be removed). */
  setDesired(scope: { tag?: string }, versionId: string | null, actor: string): Promise<DesiredVersions>;
  audit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry>;
  /** Newest first; 100 by default. */
  listAudit(opts?: { limit?: number }): Promise<AuditEntry[]>;
  /** The first record for a version stays (the moment it became safe); returns the kept record. */
  markSafeToRoll(record: SafeToRoll): Promise<SafeToRoll>;
  safeToRoll(): Promise<SafeToRoll[]>;
}
