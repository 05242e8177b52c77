/**
 * Stripe key formats, shared by the template site (what it accepts) and the CLI (what it validates
 * before sending). Whitespace is never trimmed: a key with a space is an error, not a typo to forgive.
 *
 * @example keyMode('sk_live_abc') === 'live'
 */
export type KeyKind = 'publishable_key' | 'secret_key' | 'webhook_secret' | 'price_id';
export type KeyMode = 'test' | 'live';

export const KEY_PATTERNS: Readonly<Record<KeyKind, RegExp>> = {
  publishable_key: /^pk_(test|live)_[A-Za-z0-9]+$/,
  secret_key: /^(sk|rk)_(test|live)_[A-Za-z0-9]+$/,
  webhook_secret: /^whsec_[A-Za-z0-9]+$/,
  price_id: /^price_[A-Za-z0-9]+$/,
};

/** Stripe keys are typically 32+ characters; shorter ones are worth a warning (the guide's check). */
export const KEY_MIN_LENGTH = 32;

export function isValidKey(kind: KeyKind, value: string): boolean {
  return KEY_PATTERNS[kind].test(value);
}

/** test/live for pk_, sk_ and rk_ keys; null for anything else (webhook secrets, prices carry no mode). */
export function keyMode(value: string | null | undefined): KeyMode | null {
  const m = /^(?:pk|sk|rk)_(test|live)_/.exec(value ?? '');
  return m ? (m[1] as KeyMode) : null;
}
