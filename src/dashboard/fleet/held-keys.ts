import type { SiteOutcome } from '../../engine/push-site.js';
import { fingerprint } from '../../protocol/fingerprint.js';
import { SETTING_NAMES } from '../../protocol/settings.js';
import type { HeldKeys } from '../../store/fleet-store.js';
import type { MaskedKey, SiteSnapshot } from '../../store/state-store.js';

const PUBLIC_VALUES = { stripe_publishable_key: 'publishable_key', stripe_price_id: 'price_id' } as const;

/**
 * What a read of a site says it holds, by fingerprint. Public settings come by value (hashed here,
 * as the site would); secrets by the fingerprint the authenticated key view gives. A site whose
 * protocol cannot show a secret (a seed site: `protocol: 'seed'`, the setting listed `unknown`)
 * says nothing about it: absent, never "no value".
 */
export function heldFromSnapshot(s: SiteSnapshot): HeldKeys {
  const blind = s.protocol === 'seed';
  const held: HeldKeys = {};
  for (const name of SETTING_NAMES) {
    const publicField = PUBLIC_VALUES[name as keyof typeof PUBLIC_VALUES];
    if (publicField !== undefined) {
      const v = s[publicField];
      if (v) held[name] = fingerprint(v);
      else if (!s.unknown?.includes(name)) held[name] = s.fingerprints[name] ?? null;
    } else if (!blind && !s.unknown?.includes(name)) {
      held[name] = s.fingerprints[name] ?? null;
    }
  }
  return held;
}

/**
 * What a push's outcome says a site holds: after a real push that verified (or found nothing to
 * change), the pushed settings are the version's; otherwise what the preflight read before
 * anything was written (a failed write may have landed in part: the old keys are kept as held,
 * which only ever makes the roll advice more careful). Nothing when the site was never read.
 */
export function heldFromOutcome(
  o: SiteOutcome,
  version: { keys: Record<string, MaskedKey> } | null,
  dryRun: boolean,
): HeldKeys | null {
  if (!o.before) return null;
  const held = heldFromSnapshot(o.before);
  const landed = !dryRun && (o.status === 'ok' || o.status === 'unchanged') && o.verified;
  if (landed && version)
    for (const [name, k] of Object.entries(version.keys)) held[name] = k.fingerprint;
  return held;
}
