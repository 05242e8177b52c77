import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import type { StateStore } from '../../src/store/state-store.js';
import { VaultKeyError } from '../../src/store/key-vault.js';
import { makeKey, makePriceId, makeWebhookSecret } from '../helpers/keys.js';
import { STATE_BACKENDS, newVaultKey, stateFixture, type StateFixture } from './state-store-fixture.js';

describe.each(STATE_BACKENDS)('key vault on %s', (backend) => {
  let fx: StateFixture;
  let store: StateStore;
  beforeEach(async () => {
    fx = stateFixture(backend);
    store = await fx.open();
  });
  afterEach(() => fx.cleanup());

  it('saves a version with masked keys and gives each value back by fingerprint', async () => {
    const pk = makeKey('pk', 'live');
    const sk = makeKey('rk', 'live');
    const whsec = makeWebhookSecret();
    const version = await store.saveKeyVersion(
      { stripe_publishable_key: pk, stripe_secret_key: sk, stripe_webhook_secret: whsec },
      'alice',
    );
    expect(version.id).toBe('v1');
    expect(version.keys.stripe_secret_key).toEqual({
      last4: sk.slice(-4),
      fingerprint: fingerprint(sk),
      mode: 'live',
      prefix: 'rk_live_',
    });
    expect(version.keys.stripe_webhook_secret?.mode).toBeNull();
    expect(await store.secretByFingerprint('stripe_secret_key', fingerprint(sk))).toBe(sk);
    expect(await store.secretByFingerprint('stripe_webhook_secret', fingerprint(whsec))).toBe(whsec);
    // Looked up per setting: the right fingerprint under the wrong setting finds nothing.
    expect(await store.secretByFingerprint('stripe_publishable_key', fingerprint(sk))).toBeUndefined();
    expect(await store.secretByFingerprint('stripe_secret_key', '0000000000000000')).toBeUndefined();
  });

  it('returns the existing version for the same set of fingerprints, and a new one otherwise', async () => {
    const sk = makeKey('sk', 'test');
    const price = makePriceId();
    const first = await store.saveKeyVersion({ stripe_secret_key: sk, stripe_price_id: price }, 'alice');
    const again = await store.saveKeyVersion({ stripe_price_id: price, stripe_secret_key: sk }, 'bob');
    expect(again).toEqual(first);
    const subset = await store.saveKeyVersion({ stripe_secret_key: sk }, 'bob');
    expect(subset.id).toBe('v2');
    const list = await store.listKeyVersions();
    expect(list.map((v) => [v.id, v.created_by])).toEqual([
      ['v2', 'bob'],
      ['v1', 'alice'],
    ]);
    expect(list[1]?.keys).toEqual(first.keys);
    await expect(store.saveKeyVersion({}, 'alice')).rejects.toThrow('at least one value');
  });

  it('refuses a wrong vault key with a clear error, when decrypting and before sealing more', async () => {
    const sk = makeKey('sk', 'live');
    await store.saveKeyVersion({ stripe_secret_key: sk }, 'alice');
    await store.close();
    const wrong = await fx.open({ vaultKey: newVaultKey() });
    const err = await wrong
      .secretByFingerprint('stripe_secret_key', fingerprint(sk))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultKeyError);
    expect((err as VaultKeyError).code).toBe('vault_key_mismatch');
    expect((err as Error).message).toContain('the vaultKey option');
    expect((err as Error).message).toContain('not the key the saved versions were sealed with');
    // Sealing with a second key would split the vault in two.
    await expect(wrong.saveKeyVersion({ stripe_secret_key: makeKey('sk', 'live') }, 'bob')).rejects.toThrow(
      VaultKeyError,
    );
    expect(await wrong.listKeyVersions()).toHaveLength(1); // masked data needs no key
  });

  it('never writes a value in clear: the file holds it only sealed', async () => {
    const secrets = [makeKey('sk', 'live'), makeWebhookSecret(), makeKey('pk', 'live')];
    await store.saveKeyVersion(
      {
        stripe_secret_key: secrets[0],
        stripe_webhook_secret: secrets[1],
        stripe_publishable_key: secrets[2],
      },
      'alice',
    );
    await store.close();
    const bytes = fx.bytes();
    expect(bytes.includes('enc:v1:')).toBe(true);
    for (const s of secrets) {
      expect(bytes.includes(s)).toBe(false);
      expect(bytes.includes(s.slice(-20))).toBe(false); // nor any long part of it
    }
  });

  it('creates vault.key (0600) next to the database on first use, warns once, and reuses it', async () => {
    const keyFile = join(fx.dir, 'vault.key');
    const noKey = await fx.open({ vaultKey: undefined });
    await noKey.listKeyVersions();
    expect(existsSync(keyFile)).toBe(false); // reading masked data creates nothing

    const sk = makeKey('sk', 'live');
    await noKey.saveKeyVersion({ stripe_secret_key: sk }, 'alice');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')).toHaveLength(32);
    expect(fx.logs).toHaveLength(1);
    expect(fx.logs[0]).toContain(keyFile);
    expect(fx.logs[0]).toMatch(/back it up/i);

    const restarted = await fx.open({ vaultKey: undefined });
    expect(await restarted.secretByFingerprint('stripe_secret_key', fingerprint(sk))).toBe(sk);
    expect(fx.logs).toHaveLength(1);
    // KEYFLEET_VAULT_KEY wins over the file.
    const fromEnv = await fx.open({ vaultKey: undefined, env: { KEYFLEET_VAULT_KEY: newVaultKey() } });
    await expect(fromEnv.secretByFingerprint('stripe_secret_key', fingerprint(sk))).rejects.toThrow(
      'KEYFLEET_VAULT_KEY',
    );
  });
});
