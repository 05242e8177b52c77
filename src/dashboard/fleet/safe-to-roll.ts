import type { SafeToRoll } from '../../store/fleet-store.js';
import type { StateStore } from '../../store/state-store.js';
import { siteView } from './site-views.js';

/**
 * After a key change, the moment every site that should hold the new version has been verified
 * holding it (by a push that verified, or by the periodic verify): from then on the old key can be
 * rolled in Stripe. Checked after every run and every verify sweep; a version is recorded once, at
 * the first moment it was true, and the record stays (store: first one wins). Returns the versions
 * newly recorded.
 */
export async function recordSafeToRoll(state: StateStore): Promise<SafeToRoll[]> {
  const desired = await state.fleet.desired();
  const bySite = (await state.fleet.listSites()).map((s) => siteView(s, desired));
  const known = new Set((await state.fleet.safeToRoll()).map((r) => r.version_id));
  const sites = new Map<string, { total: number; inSync: number }>();
  for (const v of bySite) {
    const id = v.desired.version_id;
    if (id === null) continue;
    const c = sites.get(id) ?? { total: 0, inSync: 0 };
    c.total += 1;
    if (v.drift === 'in_sync') c.inSync += 1;
    sites.set(id, c);
  }
  const recorded: SafeToRoll[] = [];
  for (const [versionId, c] of sites) {
    if (known.has(versionId) || c.inSync < c.total) continue;
    recorded.push(
      await state.fleet.markSafeToRoll({
        version_id: versionId,
        verified_at: new Date().toISOString(),
        sites: c.total,
      }),
    );
  }
  return recorded;
}
