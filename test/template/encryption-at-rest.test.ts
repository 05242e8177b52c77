import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey, makeWebhookSecret } from '../helpers/keys.js';

const newKey = () => randomBytes(32).toString('base64');

describe('secrets encrypted at rest with TEMPLATE_ENCRYPTION_KEY', () => {
  let site: TestSite;
  afterEach(async () => site.close());

  const put = (name: string, value: string) =>
    site.app.inject({
      method: 'PUT',
      url: settingPath(name),
      headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' },
      payload: JSON.stringify({ value }),
    });
  const rows = async () => {
    const store = await site.db.open();
    try {
      return Object.fromEntries((await store.getAll()).map((r) => [r.key, r.value]));
    } finally {
      await store.close();
    }
  };
  const skFingerprint = async () =>
    (await site.app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': MASTER_KEY } })).json().keys.stripe_secret_key
      ?.fingerprint;

  it('stores secrets sealed (AES-256-GCM) and publishable keys in clear', async () => {
    const key = newKey();
    site = await startTestSite({ config: { encryptionKey: key } });
    const sk = makeKey('sk');
    const wh = makeWebhookSecret();
    const pk = makeKey('pk');
    await put('stripe_secret_key', sk);
    await put('stripe_webhook_secret', wh);
    await put('stripe_publishable_key', pk);
    const stored = await rows();
    expect(stored.stripe_secret_key).toMatch(/^enc:v1:/);
    expect(stored.stripe_webhook_secret).toMatch(/^enc:v1:/);
    expect(JSON.stringify(stored)).not.toContain(sk);
    expect(JSON.stringify(stored)).not.toContain(wh);
    expect(stored.stripe_publishable_key).toBe(pk);
    await site.restart({ encryptionKey: key });
    expect(await skFingerprint()).toBe(fingerprint(sk));
  });

  it('refuses to start with a wrong key, and with no key, leaving the data untouched', async () => {
    site = await startTestSite({ config: { encryptionKey: newKey() } });
    await put('stripe_secret_key', makeKey('sk'));
    const before = await rows();
    await expect(site.restart({ encryptionKey: newKey() })).rejects.toThrow(/TEMPLATE_ENCRYPTION_KEY does not decrypt/);
    await expect(site.restart({ encryptionKey: undefined })).rejects.toThrow(/TEMPLATE_ENCRYPTION_KEY is not set/);
    expect(await rows()).toEqual(before);
  });

  it('refuses a key that is not 32 bytes of base64', async () => {
    site = await startTestSite();
    await expect(site.restart({ encryptionKey: 'too-short' })).rejects.toThrow(/32 bytes/);
  });

  for (const given of ['TEMPLATE_ENCRYPTION_KEY', 'the default key file'] as const) {
    it(`seals secrets that were stored in clear (an older site, the seed app) at the first start, with ${given}`, async () => {
      site = await startTestSite();
      const sk = makeKey('sk');
      await site.app.close();
      // Written in clear behind the site's back, as a database from before encryption by default holds it.
      const store = await site.db.open();
      await store.put('stripe_secret_key', sk, { fingerprint: fingerprint(sk), actorIp: null });
      await store.close();
      await site.restart({ encryptionKey: given === 'TEMPLATE_ENCRYPTION_KEY' ? newKey() : undefined });
      expect((await rows()).stripe_secret_key).toMatch(/^enc:v1:/);
      expect(await skFingerprint()).toBe(fingerprint(sk));
    });
  }
});
