import type { KeyKind } from '../protocol/key-formats.js';

/**
 * Says *where* a key went wrong without showing it: "a trailing newline", "a leading space",
 * "a tab at position 20". The guide's fix for a malformed key starts with `od -c`; this is that,
 * done for the operator, with positions instead of characters so no part of a secret is printed.
 */
const INVISIBLE = /[\s\u200B-\u200D\u2060\uFEFF]/;
const INVISIBLE_ALL = /[\s\u200B-\u200D\u2060\uFEFF]/g;

const NAMES: Record<string, string> = {
  ' ': 'space',
  '\t': 'tab',
  '\n': 'newline',
  '\r': 'carriage return',
  '\u00A0': 'non-breaking space',
  '\uFEFF': 'byte-order mark (U+FEFF)',
  '\u200B': 'zero-width space',
};

function nameOf(c: string): string {
  return (
    NAMES[c] ?? `invisible character U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
  );
}

/** "newline", "carriage return and newline", "3 spaces". */
function describeRun(run: string): string {
  const chars = [...run];
  if (chars.every((c) => c === chars[0]) && chars.length > 1)
    return `${chars.length} ${nameOf(chars[0] ?? '')}s`;
  return [...new Set(chars.map(nameOf))].join(' and ');
}

const article = (words: string) =>
  /^\d/.test(words) ? words : `${/^[aeiou]/.test(words) ? 'an' : 'a'} ${words}`;

/** Whitespace and invisible characters in `value`, each placed; empty when there are none. */
export function describeOddities(value: string): string[] {
  const lead = /^[\s\u200B-\u200D\u2060\uFEFF]+/.exec(value)?.[0] ?? '';
  if (lead.length === value.length) return lead === '' ? [] : ['is nothing but whitespace'];
  const trail = /[\s\u200B-\u200D\u2060\uFEFF]+$/.exec(value)?.[0] ?? '';
  const found: string[] = [];
  if (lead) found.push(`has ${article(`leading ${describeRun(lead)}`)}`);
  if (trail) found.push(`has ${article(`trailing ${describeRun(trail)}`)}`);
  const inner = value.slice(lead.length, value.length - trail.length);
  const at = [...inner].findIndex((c) => INVISIBLE.test(c));
  if (at !== -1) {
    const count = (inner.match(INVISIBLE_ALL) ?? []).length;
    const first = [...inner][at] ?? '';
    const more = count > 1 ? ` (and ${count - 1} more)` : '';
    found.push(`contains ${article(nameOf(first))} at position ${lead.length + at + 1}${more}`);
  }
  return found;
}

/** `value` without whitespace and invisible characters: what the operator most likely meant. */
export function withoutOddities(value: string): string {
  return value.replace(INVISIBLE_ALL, '');
}

const KIND_PREFIX: ReadonlyArray<[RegExp, KeyKind | 'product_id']> = [
  [/^pk_(test|live)_/, 'publishable_key'],
  [/^(sk|rk)_(test|live)_/, 'secret_key'],
  [/^whsec_/, 'webhook_secret'],
  [/^price_/, 'price_id'],
  [/^prod_/, 'product_id'],
];

export const KIND_LABEL: Record<KeyKind | 'product_id', string> = {
  publishable_key: 'publishable key',
  secret_key: 'secret key',
  webhook_secret: 'webhook secret',
  price_id: 'price id',
  product_id: 'product id',
};

/** The kind a value's prefix announces, whatever slot it was put in; null for no known prefix. */
export function kindOf(value: string): KeyKind | 'product_id' | null {
  return KIND_PREFIX.find(([re]) => re.test(value))?.[1] ?? null;
}

/** What a well-formed value of `kind` starts with, for messages. */
export const EXPECTED_PREFIX: Record<KeyKind, string> = {
  publishable_key: 'pk_test_ or pk_live_',
  secret_key: 'sk_test_ or sk_live_ (rk_ for restricted keys)',
  webhook_secret: 'whsec_',
  price_id: 'price_',
};
