import { describe, expect, it } from 'vitest';
import { maskKey } from '../../src/protocol/fingerprint.js';
import { validateKeys, type Problem } from '../../src/keys/validate-keys.js';
import { makeKey, makePriceId, makeWebhookSecret } from '../helpers/keys.js';

/**
 * Each key against its format (the guide's "Key Format and Validation"): problems carry the
 * setting's catalog code, show the key masked, and say where whitespace is instead of trimming it.
 */
const only = (problems: Problem[]): Problem => {
  expect(problems).toHaveLength(1);
  return problems[0] as Problem;
};

describe('well-formed keys', () => {
  it('pass, with their mode', () => {
    const r = validateKeys({
      stripe_secret_key: makeKey('sk', 'live'),
      stripe_publishable_key: makeKey('pk', 'live'),
      stripe_webhook_secret: makeWebhookSecret(),
      stripe_price_id: makePriceId(),
    });
    expect(r).toEqual({ ok: true, problems: [], warnings: [], mode: 'live', live: true });
  });

  it('accepts a restricted rk_ key as the secret', () => {
    expect(validateKeys({ stripe_secret_key: makeKey('rk', 'test') })).toMatchObject({
      ok: true,
      mode: 'test',
      live: false,
    });
  });
});

describe('whitespace, placed', () => {
  const sk = makeKey('sk', 'live');
  it.each([
    [`${sk}\n`, 'has a trailing newline'],
    [`${sk}\r\n`, 'has a trailing carriage return and newline'],
    [`${sk} `, 'has a trailing space'],
    [`${sk}   `, 'has a trailing 3 spaces'],
    [` ${sk}`, 'has a leading space'],
    [`\t${sk}`, 'has a leading tab'],
    [`${sk.slice(0, 20)}\t${sk.slice(20)}`, 'contains a tab at position 21'],
    [`${sk.slice(0, 10)} ${sk.slice(10)}`, 'contains a space at position 11'],
    [`${sk.slice(0, 10)}\u00A0${sk.slice(10)}`, 'contains a non-breaking space at position 11'],
    [`\uFEFF${sk}`, 'has a leading byte-order mark (U+FEFF)'],
    [`${sk.slice(0, 10)}\u200B${sk.slice(10)}`, 'contains a zero-width space at position 11'],
    [' \n', 'is nothing but whitespace'],
  ])('%j: %s', (value, where) => {
    const p = only(validateKeys({ stripe_secret_key: value }).problems);
    expect(p.code).toBe('invalid_secret_format');
    expect(p.setting).toBe('stripe_secret_key');
    expect(p.message).toContain(where);
    expect(p.message).toMatch(/keys are never trimmed$/);
    expect(p.hint).toContain(`tr -d '[:space:]'`);
  });

  it('shows the key masked, without the whitespace', () => {
    const p = only(
      validateKeys({ stripe_publishable_key: ` ${makeKey('pk')}`.slice(0, 30) + '\n' }).problems,
    );
    expect(p.code).toBe('invalid_publishable_key_format');
    expect(p.message).toMatch(
      /^publishable key pk_test_…[A-Za-z0-9]{4} has a leading space, has a trailing newline/,
    );
  });
});

describe('wrong kind in the slot', () => {
  it('says a publishable key was given as the secret key', () => {
    const pk = makeKey('pk');
    const p = only(validateKeys({ stripe_secret_key: pk }).problems);
    expect(p.code).toBe('invalid_secret_format');
    expect(p.message).toBe(
      `secret key is a publishable key (${maskKey(pk)}), not a secret key: a secret key starts with sk_test_ or sk_live_ (rk_ for restricted keys)`,
    );
  });

  it('says a secret key was given as the publishable key', () => {
    const sk = makeKey('sk', 'live');
    const p = only(validateKeys({ stripe_publishable_key: sk }).problems);
    expect(p.code).toBe('invalid_publishable_key_format');
    expect(p.message).toBe(
      `publishable key is a secret key (${maskKey(sk)}), not a publishable key: a publishable key starts with pk_test_ or pk_live_`,
    );
  });

  it('says a product id was given as the price id', () => {
    const p = only(validateKeys({ stripe_price_id: 'prod_ABCDEFGHIJKLMNOP' }).problems);
    expect(p).toMatchObject({
      code: 'invalid_price_id_format',
      message: expect.stringContaining('is a product id'),
    });
    expect(p.hint).toMatch(/not the product id/);
  });
});

describe('other format mistakes', () => {
  const sk = makeKey('sk');
  it.each([
    ['stripe_secret_key', '', 'invalid_secret_format', 'secret key is empty (STRIPE_SECRET_KEY)'],
    ['stripe_secret_key', `"${sk}"`, 'invalid_secret_format', 'is wrapped in quotes: remove them'],
    [
      'stripe_secret_key',
      `sk_prod_${sk.slice(8)}`,
      'invalid_secret_format',
      'does not start with sk_test_ or sk_live_',
    ],
    [
      'stripe_secret_key',
      `${sk.slice(0, 15)}-${sk.slice(15)}`,
      'invalid_secret_format',
      'contains a character other than letters and digits at position 16',
    ],
    ['stripe_secret_key', 'sk_test_', 'invalid_secret_format', 'has nothing after its prefix'],
    [
      'stripe_webhook_secret',
      'wh_ABCDEFGHIJKLMNOPQRSTUV',
      'invalid_webhook_secret_format',
      'does not start with whsec_',
    ],
  ] as const)('%s %j → %s', (setting, value, code, text) => {
    const p = only(validateKeys({ [setting]: value }).problems);
    expect(p.code).toBe(code);
    expect(p.message).toContain(text);
  });
});

describe('length', () => {
  it('warns about a key shorter than 32 characters, but lets it pass', () => {
    const sk = makeKey('sk', 'test', 20);
    const r = validateKeys({ stripe_secret_key: sk });
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([
      {
        setting: 'stripe_secret_key',
        code: 'key_too_short',
        message: `secret key ${maskKey(sk)} is 28 characters; Stripe keys are typically 32+`,
        hint: 'Check the whole key was copied from https://dashboard.stripe.com/apikeys.',
      },
    ]);
  });

  it('does not warn at 32 characters', () => {
    expect(validateKeys({ stripe_publishable_key: makeKey('pk', 'test', 24) }).warnings).toEqual([]);
  });
});
