import { fingerprint, last4 } from '../protocol/fingerprint.js';
import { keyMode } from '../protocol/key-formats.js';
import type { MaskedKey } from '../store/state-store.js';

/** The public head of a key: `sk_live_`, `rk_test_`, `pk_live_`, `whsec_`, `price_`. */
const PREFIX = /^((?:sk|rk|pk)_(?:test|live)_|whsec_|price_)/;

/** What a setting's key looks like when only its mode is known (runs recorded without `prefix`). */
const HEAD_BY_SETTING: Readonly<Record<string, (mode: string | null) => string>> = {
  stripe_publishable_key: (mode) => (mode ? `pk_${mode}_` : 'pk_'),
  stripe_secret_key: (mode) => (mode ? `sk_${mode}_` : 'sk_'),
  stripe_webhook_secret: () => 'whsec_',
  stripe_price_id: () => 'price_',
};

/** Settings in the order an operator reads them (public first), for stable display. */
const DISPLAY_ORDER = [
  'stripe_publishable_key',
  'stripe_secret_key',
  'stripe_webhook_secret',
  'stripe_price_id',
];

/**
 * The masked description of a key: what runs and the vault keep instead of the value.
 * Keys too short to spare a tail (under 12 characters after the prefix) keep no last4 at all, the
 * same rule as `maskKey`.
 *
 * @example maskedKey(sk) // { last4: 'a1b2', fingerprint: '…16 hex…', mode: 'live', prefix: 'sk_live_' }
 */
export function maskedKey(value: string): MaskedKey {
  const prefix = PREFIX.exec(value)?.[1] ?? '';
  const rest = value.slice(prefix.length);
  return {
    last4: rest.length >= 12 ? last4(value) : '',
    fingerprint: fingerprint(value),
    mode: keyMode(value),
    prefix,
  };
}

/**
 * Display form built from a MaskedKey, never from a value: `sk_live_…a1b2`. Uses the recorded
 * prefix when there is one, else the setting's usual head and the mode.
 */
export function formatMaskedKey(setting: string, key: MaskedKey): string {
  const head = key.prefix ?? HEAD_BY_SETTING[setting]?.(key.mode) ?? '';
  return `${head}…${key.last4}`;
}

/** Every key of a run or version, masked, in display order (unknown settings last, by name). */
export function formatMaskedKeys(keys: Record<string, MaskedKey>): string[] {
  const rank = (s: string) => {
    const i = DISPLAY_ORDER.indexOf(s);
    return i === -1 ? DISPLAY_ORDER.length : i;
  };
  return Object.keys(keys)
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((setting) => formatMaskedKey(setting, keys[setting] as MaskedKey));
}
