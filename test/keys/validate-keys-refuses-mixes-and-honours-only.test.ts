import { describe, expect, it } from 'vitest';
import { parseOnly, validateKeys } from '../../src/keys/validate-keys.js';
import { makeKey, makePriceId, makeWebhookSecret } from '../helpers/keys.js';

/**
 * Across keys: a test/live mix between pk and sk is refused (`mode_mismatch`), an empty set is a
 * problem, and `--only` narrows what is checked while making each listed key required. No message,
 * whatever goes wrong, holds a secret's value.
 */
describe('test/live mix', () => {
  it.each([
    ['test', 'live'],
    ['live', 'test'],
  ] as const)('refuses an sk_%s with a pk_%s', (skMode, pkMode) => {
    const r = validateKeys({
      stripe_secret_key: makeKey('sk', skMode),
      stripe_publishable_key: makeKey('pk', pkMode),
    });
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.code)).toEqual(['mode_mismatch']);
    expect(r.problems[0]?.message).toMatch(
      new RegExp(`the secret key is a ${skMode} key .* but the publishable key is a ${pkMode} key`),
    );
    expect(r.mode).toBeNull();
    expect(r.live).toBe(true);
  });

  it('still sees the mix when one key also has whitespace (two separate problems)', () => {
    const r = validateKeys({
      stripe_secret_key: `${makeKey('sk', 'live')}\n`,
      stripe_publishable_key: makeKey('pk', 'test'),
    });
    expect(r.problems.map((p) => p.code)).toEqual(['invalid_secret_format', 'mode_mismatch']);
  });

  it('does not call a key in the wrong slot a mix', () => {
    const r = validateKeys({
      stripe_secret_key: makeKey('sk', 'live'),
      stripe_publishable_key: makeKey('sk', 'test'),
    });
    expect(r.problems.map((p) => p.code)).toEqual(['invalid_publishable_key_format']);
  });

  it('reports the one mode of a matching pair', () => {
    expect(
      validateKeys({
        stripe_secret_key: makeKey('sk', 'test'),
        stripe_publishable_key: makeKey('pk', 'test'),
      }),
    ).toMatchObject({
      ok: true,
      mode: 'test',
      live: false,
    });
  });
});

describe('nothing to push', () => {
  it('is a problem that names the variables to set', () => {
    const r = validateKeys({});
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      expect.objectContaining({
        setting: null,
        code: 'nothing_to_push',
        message: expect.stringContaining('STRIPE_SECRET_KEY'),
      }),
    ]);
    expect(r.mode).toBeNull();
  });
});

describe('--only', () => {
  const keys = {
    stripe_secret_key: makeKey('sk', 'live'),
    stripe_publishable_key: makeKey('pk', 'test'),
    stripe_price_id: 'not a price',
  };

  it('checks only the listed kinds: a broken unlisted key and the mix are not its business', () => {
    expect(validateKeys(keys, { only: 'sk' })).toEqual({
      ok: true,
      problems: [],
      warnings: [],
      mode: 'live',
      live: true,
    });
    expect(validateKeys(keys, { only: ['pk'] })).toMatchObject({ ok: true, mode: 'test', live: false });
  });

  it('still refuses the mix when both pk and sk are listed', () => {
    expect(validateKeys(keys, { only: 'pk,sk' }).problems.map((p) => p.code)).toEqual(['mode_mismatch']);
  });

  it('requires each listed kind', () => {
    const r = validateKeys({ stripe_publishable_key: makeKey('pk') }, { only: 'pk, webhook' });
    expect(r.problems).toEqual([
      {
        setting: 'stripe_webhook_secret',
        code: 'missing_key',
        message: '--only webhook: the webhook secret is not set (STRIPE_WEBHOOK_SECRET)',
        hint: 'Set STRIPE_WEBHOOK_SECRET in the environment or .env, or leave webhook out of --only.',
      },
    ]);
  });

  it('refuses unknown kinds and an empty list as usage problems', () => {
    expect(parseOnly('pk,secret')).toEqual({
      settings: ['stripe_publishable_key'],
      problems: [
        expect.objectContaining({
          setting: null,
          code: 'invalid_only',
          message: "--only: unknown kind 'secret'",
        }),
      ],
    });
    expect(parseOnly(' , ').problems.map((p) => p.message)).toEqual(['--only lists no kinds']);
    expect(validateKeys(keys, { only: 'sk,bogus' }).ok).toBe(false);
  });

  it('parses a list into settings, in order, without repeats, case-insensitively', () => {
    expect(parseOnly('SK,price,sk,Webhook').settings).toEqual([
      'stripe_secret_key',
      'stripe_price_id',
      'stripe_webhook_secret',
    ]);
  });
});

describe('secrets stay out of messages', () => {
  it('no problem or warning, in any case above, contains a secret or its body', () => {
    const sk = makeKey('sk', 'live');
    const wh = makeWebhookSecret();
    const body = (k: string) => k.replace(/^(sk_live_|whsec_)/, '');
    const cases = [
      { stripe_secret_key: sk, stripe_publishable_key: makeKey('pk', 'test') },
      { stripe_secret_key: `${sk}\n`, stripe_webhook_secret: ` ${wh}` },
      { stripe_publishable_key: sk, stripe_price_id: wh },
      { stripe_secret_key: `"${sk}"` },
      { stripe_secret_key: `${sk.slice(0, 20)}!${sk.slice(20)}`, stripe_webhook_secret: `${wh}-x` },
      { stripe_secret_key: sk.slice(0, 20), stripe_price_id: makePriceId() },
    ];
    for (const keySet of cases) {
      const r = validateKeys(keySet, {});
      const text = JSON.stringify([r.problems, r.warnings]);
      for (const secret of [sk, wh]) {
        expect(text).not.toContain(body(secret).slice(0, 12));
        expect(text).not.toContain(body(secret).slice(-12, -4));
      }
    }
  });
});
