import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import type { SettingsStore } from '../../src/store/settings-store.js';
import { BACKENDS, recordKeys, storeFixture, type StoreFixture } from './store-fixture.js';
import { makeKey } from '../helpers/keys.js';

const entry = (key: string, value: string) => ({ key, value, fingerprint: fingerprint(value) });

/** The store's side of the atomic write (issue 10) and its change counter (issue 14.4). */
describe.each(BACKENDS)('settings store writeAtomically and generation on %s', (backend) => {
  let fx: StoreFixture;
  let store: SettingsStore;
  beforeEach(async () => {
    fx = storeFixture(backend);
    store = await fx.open();
  });
  afterEach(async () => fx.cleanup());

  it('bumps the generation once per write of any kind, and snapshots agree with it', async () => {
    const g0 = await store.generation();
    await store.put('stripe_publishable_key', makeKey('pk'), { fingerprint: null, actorIp: null });
    expect(await store.generation()).toBe(g0 + 1);
    await store.delete('stripe_publishable_key', { fingerprint: null, actorIp: null });
    expect(await store.generation()).toBe(g0 + 2);
    const commit = await store.writeAtomically(() => [entry('stripe_publishable_key', makeKey('pk')), entry('stripe_secret_key', makeKey('sk'))], '10.0.0.1');
    expect(commit.generation).toBe(g0 + 3);
    expect(commit.base.generation).toBe(g0 + 2);
    const snap = await store.snapshot();
    expect(snap.generation).toBe(g0 + 3);
    expect(snap.rows.map((r) => r.key)).toEqual(['stripe_publishable_key', 'stripe_secret_key']);
    expect(new Set(snap.rows.map((r) => r.updated_at))).toEqual(new Set([commit.updatedAt]));
  });

  it('writes every entry with its audit row in one transaction, notifying each key', async () => {
    const seen = await recordKeys(store);
    const pk = makeKey('pk');
    const sk = makeKey('sk');
    await store.writeAtomically(() => [entry('stripe_publishable_key', pk), entry('stripe_secret_key', sk)], '10.0.0.2');
    expect((await store.get('stripe_publishable_key'))?.value).toBe(pk);
    expect((await store.get('stripe_secret_key'))?.value).toBe(sk);
    const audit = await store.listAudit();
    expect(audit.map((a) => [a.key, a.fingerprint, a.actor_ip]).sort()).toEqual(
      [
        ['stripe_publishable_key', fingerprint(pk), '10.0.0.2'],
        ['stripe_secret_key', fingerprint(sk), '10.0.0.2'],
      ].sort(),
    );
    expect((await seen.waitFor(2)).sort()).toEqual(['stripe_publishable_key', 'stripe_secret_key']);
    await seen.stop();
  });

  it('writes nothing, and leaves the generation, when prepare refuses', async () => {
    const pk = makeKey('pk');
    await store.put('stripe_publishable_key', pk, { fingerprint: fingerprint(pk), actorIp: null });
    const before = await store.snapshot();
    const audited = (await store.listAudit()).length;
    await expect(
      store.writeAtomically((base) => {
        expect(base.rows.find((r) => r.key === 'stripe_publishable_key')?.value).toBe(pk);
        throw new Error('refused');
      }, null),
    ).rejects.toThrow('refused');
    expect(await store.snapshot()).toEqual(before);
    expect((await store.listAudit()).length).toBe(audited);
  });

  it('serialises concurrent atomic writes and per-setting puts: each sees the one before it', async () => {
    const other = await fx.open();
    const bases: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 3 === 0
          ? other.put('stripe_price_id', `price_${i}`, { fingerprint: null, actorIp: null })
          : (i % 2 ? store : other).writeAtomically((base) => {
              bases.push(base.generation);
              return [entry('stripe_publishable_key', makeKey('pk'))];
            }, null),
      ),
    );
    expect(new Set(bases).size).toBe(bases.length); // no two writes checked against the same state
    expect((await store.snapshot()).generation).toBe(20);
  });
});
