import type { SiteTask } from '../../engine/push-site.js';
import type { FleetSite } from '../../store/fleet-store.js';
import type { MaskedKey, StateStore } from '../../store/state-store.js';
import { DashboardError } from '../errors.js';
import { effectiveVersion, VersionKeys } from '../fleet/desired.js';

/**
 * Which key version each site of a run is pushed: the version most sites get (`default`) and the
 * exceptions by URL. Recorded in the run's options, so a resumed run, a confirmed preview or a
 * retry pushes what the run started with, whatever the desired state became since.
 */
export interface DesiredSnapshot {
  default: string;
  others: Record<string, string>;
}

/** Everything a dashboard run needs: one task per site, and what to record about its keys. */
export interface FleetRunPlan {
  tasks: SiteTask[];
  snapshot: DesiredSnapshot;
  /** The default version: the run's `key_version_id` and masked `keys`. */
  versionId: string;
  keys: Record<string, MaskedKey>;
  versionOf(url: string): string;
  /** Fleet site ids by URL (a site removed since the run started has none). */
  siteIds: Map<string, string>;
  versions: VersionKeys;
}

/** A new run over `sites`, each pushed its effective desired version. */
export async function planForSites(
  state: StateStore,
  sites: FleetSite[],
  masterKey: string | null,
): Promise<FleetRunPlan> {
  const desired = await state.fleet.desired();
  const byUrl = new Map<string, string>();
  const missing: string[] = [];
  const counts = new Map<string, number>();
  for (const site of sites) {
    const v = effectiveVersion(site, desired).version_id;
    if (v === null) missing.push(site.name);
    else {
      byUrl.set(site.url, v);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  if (missing.length > 0) {
    const shown =
      missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, … (${missing.length} in all)` : '');
    throw new DashboardError(
      'no_desired_keys',
      `No key version is desired for ${shown}: add keys first (POST /api/admin/keys).`,
    );
  }
  const [first] = [...counts].sort((a, b) => b[1] - a[1]);
  const snapshot: DesiredSnapshot = { default: first?.[0] ?? '', others: {} };
  for (const [url, v] of byUrl) if (v !== snapshot.default) snapshot.others[url] = v;
  return planFromSnapshot(
    state,
    sites.map((s) => s.url),
    snapshot,
    masterKey,
  );
}

/**
 * A run over `urls` with the versions a snapshot says (resume, confirm, retry, a shared run's job).
 * `fleet` is the fleet by URL when the caller has it already (a worker plans many jobs of one run).
 */
export async function planFromSnapshot(
  state: StateStore,
  urls: string[],
  snapshot: DesiredSnapshot,
  masterKey: string | null,
  fleetByUrl?: ReadonlyMap<string, FleetSite>,
): Promise<FleetRunPlan> {
  const versions = new VersionKeys(state);
  const versionOf = (url: string) => snapshot.others[url] ?? snapshot.default;
  const fleet = fleetByUrl ?? (await fleetSitesByUrl(state));
  const tasks: SiteTask[] = [];
  // A site waiting for approval (issue 12) is never sent a key, whatever the run was started with.
  urls = urls.filter((url) => fleet.get(url)?.approval !== 'pending');
  for (const url of urls) {
    const site = fleet.get(url);
    const own = site?.has_api_key ? await state.fleet.siteApiKey(site.id) : null;
    tasks.push({ url, apiKey: own ?? masterKey, desired: await versions.keys(versionOf(url)) });
  }
  const siteIds = new Map(
    urls.flatMap((u) => (fleet.has(u) ? [[u, fleet.get(u)?.id as string] as const] : [])),
  );
  const keys = await versions.masked(snapshot.default);
  return { tasks, snapshot, versionId: snapshot.default, keys, versionOf, siteIds, versions };
}

/** Every site of the fleet, by URL. */
export async function fleetSitesByUrl(state: StateStore): Promise<Map<string, FleetSite>> {
  return new Map((await state.fleet.listSites()).map((s) => [s.url, s]));
}

/** The snapshot a dashboard run recorded in its options; undefined for a run the CLI made. */
export function snapshotOfRun(options: Record<string, unknown>): DesiredSnapshot | undefined {
  const d = options.desired as Partial<DesiredSnapshot> | undefined;
  return d && typeof d.default === 'string' && typeof d.others === 'object' && d.others !== null
    ? (d as DesiredSnapshot)
    : undefined;
}
