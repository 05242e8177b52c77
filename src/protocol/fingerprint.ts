import { createHash } from 'node:crypto';

/**
 * Fingerprint = first 16 hex chars of SHA-256 of the key's UTF-8 bytes. Both the site and the CLI use
 * this one function, so a fingerprint read from a site can be compared with one computed locally.
 *
 * @example fingerprint('sk_test_abc') // '…16 hex chars…'
 */
export function fingerprint(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 16);
}

export function last4(value: string): string {
  return value.slice(-4);
}

const PREFIX = /^((?:sk|rk|pk)_(?:test|live)_|whsec_|price_)/;

/**
 * Masked form of a key, safe for any output: `sk_live_…a1b2`. Keys too short to keep a tail
 * without revealing most of it are shown as prefix + `…` only.
 */
export function maskKey(value: string): string {
  const prefix = PREFIX.exec(value)?.[1] ?? '';
  const rest = value.slice(prefix.length);
  return rest.length >= 12 ? `${prefix}…${rest.slice(-4)}` : `${prefix}…`;
}

/** Anything shaped like a secret (sk_, rk_, whsec_), anywhere in a string. */
const SECRET_SHAPED = /((?:sk|rk)_(?:test|live)_|whsec_)([A-Za-z0-9]+)/g;

/**
 * Masks every secret-shaped token in free text (log lines, error text relayed from Stripe or a
 * site). Publishable keys and price ids are public and left alone.
 */
export function maskSecrets(text: string): string {
  return text.replace(SECRET_SHAPED, (_m, prefix: string, rest: string) =>
    rest.length >= 12 ? `${prefix}…${rest.slice(-4)}` : `${prefix}…`,
  );
}
