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

/** Whether an old key may be rolled (retired) in Stripe, reasoned about the key, not its version. */
export type RollState = 'in_use' | 'unknown' | 'safe';

export interface KeyRollAdvice {
  setting: string;
  fingerprint: string;
  last4: string;
  prefix: string | null;
  mode: 'test' | 'live' | null;
  /** The key versions carrying this key, oldest first. */
  versions: string[];
  /** Sites whose desired version (pin, tag override or fleet default) carries this key. */
  wanted_by: number;
  /** Sites last seen holding this key. */
  held_by: number;
  /** Sites never read for this setting: they might hold it. */
  unknown: number;
  state: RollState;
}

/**
 * One verdict per key (setting + fingerprint) of every saved version: `safe` only when no site
 * wants it and no site was last seen holding it and every site was read; `unknown` when nobody
 * wants or was seen holding it but some sites were never read; `in_use` otherwise. Counted in the
 * store's queries over the whole fleet: no site is listed.
 *
 * @example (await keyRollAdvice(state)).filter((k) => k.state === 'safe') // keys Stripe may retire
 */
export async function keyRollAdvice(state: StateStore): Promise<KeyRollAdvice[]> {
  const [{ versions: wantedPerVersion }, held, versions] = await Promise.all([
    state.fleet.siteSummary(),
    state.fleet.heldKeyCounts(),
    state.listKeyVersions(),
  ]);
  const byKey = new Map<string, KeyRollAdvice>();
  // listKeyVersions is newest first: walk oldest first so `versions` reads in order.
  for (const v of [...versions].reverse()) {
    for (const [setting, k] of Object.entries(v.keys)) {
      const id = `${setting}:${k.fingerprint}`;
      let a = byKey.get(id);
      if (!a) {
        a = {
          setting,
          fingerprint: k.fingerprint,
          last4: k.last4,
          prefix: k.prefix ?? null,
          mode: k.mode,
          versions: [],
          wanted_by: 0,
          held_by: held.held[setting]?.[k.fingerprint] ?? 0,
          unknown: Math.max(0, held.sites - (held.seen[setting] ?? 0)),
          state: 'in_use',
        };
        byKey.set(id, a);
      }
      a.versions.push(v.id);
      a.wanted_by += wantedPerVersion[v.id]?.sites ?? 0;
    }
  }
  const out = [...byKey.values()];
  for (const a of out)
    a.state = a.wanted_by > 0 || a.held_by > 0 ? 'in_use' : a.unknown > 0 ? 'unknown' : 'safe';
  return out;
}
