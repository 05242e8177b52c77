import type { SafeToRoll } from '../../store/fleet-store.js';
import type { StateStore } from '../../store/state-store.js';

/**
 * After a key change, the moment every site that should hold the new version has been verified
 * holding it (by a push that verified, or by the periodic verify): from then on the old key can be
 * rolled in Stripe. Checked after every run and every verify sweep; a version is recorded once, at
 * the first moment it was true, and the record stays (store: first one wins). Returns the versions
 * newly recorded.
 */
export async function recordSafeToRoll(state: StateStore): Promise<SafeToRoll[]> {
  // Counted in the store's query (effective version and drift as siteView says): no site is listed.
  const { versions } = await state.fleet.siteSummary();
  const known = new Set((await state.fleet.safeToRoll()).map((r) => r.version_id));
  const recorded: SafeToRoll[] = [];
  for (const [versionId, c] of Object.entries(versions)) {
    if (known.has(versionId) || c.in_sync < c.sites) continue;
    recorded.push(
      await state.fleet.markSafeToRoll({
        version_id: versionId,
        verified_at: new Date().toISOString(),
        sites: c.sites,
      }),
    );
  }
  return recorded;
}
