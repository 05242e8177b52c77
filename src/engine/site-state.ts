import type { HealthStripeBody, KeyInfo } from '../protocol/bodies.js';
import { CAPABILITIES } from '../protocol/capabilities.js';
import { fingerprint } from '../protocol/fingerprint.js';
import { SETTINGS, SETTING_NAMES, type SettingName } from '../protocol/settings.js';
import type { SiteSnapshot } from '../store/state-store.js';

/** The keys a site should hold, by setting name; only the settings being pushed are present. */
export type DesiredKeys = Partial<Record<SettingName, string>>;

/** What a site holds, from its authenticated /api/health/stripe (one request tells everything). */
export function snapshotOf(health: HealthStripeBody): SiteSnapshot {
  const keys = health.keys ?? ({} as Record<SettingName, KeyInfo | null>);
  const fingerprints: Record<string, string | null> = {};
  for (const name of SETTING_NAMES) fingerprints[name] = keys[name]?.fingerprint ?? null;
  const snapshot: SiteSnapshot = {
    publishable_key: keys.stripe_publishable_key?.value ?? null,
    price_id: keys.stripe_price_id?.value ?? null,
    fingerprints,
  };
  if (health.capabilities?.includes(CAPABILITIES.atomicWrite)) snapshot.atomic_write = true;
  return snapshot;
}

// Every site of a push shares one DesiredKeys object: hash its keys once, not once per site.
const fingerprints = new WeakMap<DesiredKeys, Partial<Record<SettingName, string>>>();

function desiredFingerprint(desired: DesiredKeys, name: SettingName): string {
  let fps = fingerprints.get(desired);
  if (!fps) fingerprints.set(desired, (fps = {}));
  return (fps[name] ??= fingerprint(desired[name] ?? ''));
}

/** The order settings are pushed in. Secrets first: a site briefly holding a new secret with the old pk breaks nothing a visitor sees. */
export const PUSH_ORDER: readonly SettingName[] = ['stripe_secret_key', 'stripe_webhook_secret', 'stripe_price_id', 'stripe_publishable_key'];

/** Settings whose value on the site differs from the desired one (by fingerprint), in push order. */
export function changesNeeded(desired: DesiredKeys, current: SiteSnapshot): SettingName[] {
  return PUSH_ORDER.filter((name) => desired[name] !== undefined && current.fingerprints[name] !== desiredFingerprint(desired, name));
}

/**
 * Settings the site does not hold as desired: public ones compared by value, secrets by
 * fingerprint (the site never reveals them).
 */
export function mismatches(desired: DesiredKeys, current: SiteSnapshot): SettingName[] {
  return SETTING_NAMES.filter((name) => {
    const want = desired[name];
    if (want === undefined) return false;
    // A seed site never reveals its secrets: unknown is not a mismatch (nor a proof; see `unknown`).
    if (current.unknown?.includes(name)) return false;
    if (name === 'stripe_publishable_key') return current.publishable_key !== want;
    if (name === 'stripe_price_id') return current.price_id !== want;
    return current.fingerprints[name] !== desiredFingerprint(desired, name);
  });
}

export function describeSettings(names: SettingName[]): string {
  return names.map((n) => SETTINGS[n].short).join(', ');
}
