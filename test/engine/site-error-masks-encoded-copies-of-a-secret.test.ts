import { describe, expect, it } from 'vitest';
import { SiteError } from '../../src/engine/site-error.js';
import { makeKey, makeWebhookSecret } from '../helpers/keys.js';

const encodings = (s: string): Record<string, string> => {
  const b = Buffer.from(s);
  return {
    base64: b.toString('base64'),
    base64url: b.toString('base64url'),
    'base64 inside JSON': Buffer.from(JSON.stringify({ got: s, ok: false })).toString('base64'),
    'base64 at offset 1': Buffer.from(`x${s}`).toString('base64'),
    'base64 at offset 2': Buffer.from(`xy${s}yz`).toString('base64'),
    hex: b.toString('hex'),
    HEX: b.toString('hex').toUpperCase(),
    'url-encoded': [...b].map((c) => `%${c.toString(16).padStart(2, '0')}`).join(''),
    'encodeURIComponent of JSON': encodeURIComponent(JSON.stringify({ key: s })),
  };
};

/** Issue 12: a site echoing a key encoded must not get it into a report, a log or the state database. */
describe('SiteError masks encoded copies of a secret', () => {
  const sk = makeKey('sk', 'live');
  const whsec = makeWebhookSecret();
  const older = makeKey('rk', 'live'); // not carried by this request: found by decoding

  for (const [secret, carried] of [
    [sk, true],
    [whsec, true],
    [older, false],
  ] as const) {
    for (const [how, encoded] of Object.entries(encodings(secret))) {
      it(`${carried ? 'a carried' : 'an unknown'} ${secret.slice(0, 5)} key, ${how}`, () => {
        const e = new SiteError({
          code: 'site_request_failed',
          url: 'https://shop.example.fr/api/export/settings/stripe_secret_key',
          httpStatus: 400,
          detail: `rejected value ${encoded} (see logs)`,
          secrets: carried ? [secret, 'api-key-0123456789abcdef'] : ['api-key-0123456789abcdef'],
        });
        const all = `${e.message}\n${JSON.stringify(e)}`;
        expect(all).not.toContain(encoded);
        expect(all).not.toContain(secret);
        // Nothing of it that is long enough to matter survives.
        expect(all).not.toContain(encoded.slice(8, 28));
        if (encoded.includes('%') || !encoded.includes(secret.slice(0, 6))) expect(all).toMatch(/\[encoded|…/);
      });
    }
  }

  it('leaves ordinary text alone', () => {
    const e = new SiteError({
      code: 'site_request_failed',
      url: 'https://shop.example.fr',
      detail: 'upstream c2VydmVyIGVycm9yIGhhcHBlbmVk 0123456789abcdef0123456789abcdef %20hello',
      secrets: [sk],
    });
    expect(e.message).toContain('c2VydmVyIGVycm9yIGhhcHBlbmVk');
    expect(e.message).toContain('0123456789abcdef0123456789abcdef');
    expect(e.message).toContain('%20hello');
  });
});
