import { expect } from 'vitest';
import { SecretBox } from '../../src/keys/secret-box.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import type { SettingsStore } from '../../src/store/settings-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { makeKey, makePriceId } from '../helpers/keys.js';

/**
 * New writes on an upgraded legacy database, each read back: what a release must still be able to
 * do on a database an older one made. They touch every table the latest schema has (held keys,
 * site protocols, approval, the worker column), so a missing migration fails here.
 */
export async function stateWritesWork(store: StateStore, oldSiteUrl: string): Promise<string> {
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const version = await store.saveKeyVersion(
    { stripe_publishable_key: pk, stripe_secret_key: sk },
    'upgrade-test',
  );
  expect(await store.secretByFingerprint('stripe_secret_key', fingerprint(sk))).toBe(sk);

  const newUrl = `https://after-upgrade-${Date.now()}.example.test`;
  const run = await store.createRun({
    command: 'push',
    dry_run: false,
    actor: 'upgrade-test',
    sites_source: null,
    keys: version.keys,
    options: {},
    key_version_id: version.id,
    sites: [oldSiteUrl, newUrl],
  });
  await store.recordSite(run.id, {
    url: newUrl,
    status: 'ok',
    verified: true,
    attempts: 1,
    duration_ms: 5,
    error: null,
    before: null,
    changes: ['stripe_publishable_key'],
    worker: 'upgrade-worker',
  });
  const done = await store.finishRun(run.id, 'done');
  expect(done.summary).toMatchObject({ total: 2, ok: 1 });
  expect((await store.siteResults(run.id, { status: ['ok'] }))[0]).toMatchObject({
    url: newUrl,
    worker: 'upgrade-worker',
    changes: ['stripe_publishable_key'],
  });
  expect((await store.listRuns())[0]?.id).toBe(run.id);

  await store.rememberProtocols([{ url: newUrl, protocol: 'seed' }]);
  expect(await store.siteProtocols([newUrl])).toEqual(new Map([[newUrl, 'seed']]));

  const site = await store.fleet.addSite({
    url: newUrl,
    name: `after-upgrade-${run.id}`,
    tags: ['upgraded'],
    apiKey: null,
    source: 'register',
    addedBy: 'registration',
    approval: 'pending',
  });
  expect(site.approval).toBe('pending');
  await store.fleet.recordHeldKeys(
    site.id,
    { stripe_publishable_key: fingerprint(pk) },
    new Date().toISOString(),
  );
  expect((await store.fleet.heldKeysOf([site.id])).get(site.id)).toEqual({
    stripe_publishable_key: fingerprint(pk),
  });
  await store.fleet.audit({
    actor: 'upgrade-test',
    action: 'site.add',
    target: site.id,
    detail: { url: newUrl },
  });
  expect((await store.fleet.listAudit({ limit: 1 }))[0]).toMatchObject({
    action: 'site.add',
    target: site.id,
  });

  const now = new Date().toISOString();
  const session = {
    id_hash: fingerprint(run.id).padEnd(64, '0'),
    actor: 'admin',
    address: null,
    created_at: now,
    expires_at: now,
    last_seen_at: now,
  };
  await store.sessions.create(session);
  expect(await store.sessions.find(session.id_hash)).toEqual(session);
  return run.id;
}

/** A put, a delete and an atomic write on an upgraded settings database, each bumping the generation. */
export async function settingsWritesWork(store: SettingsStore, templateKey: string): Promise<void> {
  const before = await store.generation();
  const price = makePriceId();
  await store.put('stripe_price_id', price, { fingerprint: fingerprint(price), actorIp: '127.0.0.1' });
  expect((await store.get('stripe_price_id'))?.value).toBe(price);
  const afterPut = await store.generation();
  expect(afterPut).toBeGreaterThan(before);

  await store.delete('stripe_publishable_key', { fingerprint: null, actorIp: '127.0.0.1' });
  expect(await store.get('stripe_publishable_key')).toBeUndefined();

  const box = SecretBox.fromBase64(templateKey);
  const sk = makeKey('sk');
  const commit = await store.writeAtomically(
    () => [{ key: 'stripe_secret_key', value: box.seal(sk), fingerprint: fingerprint(sk) }],
    null,
  );
  expect(commit.generation).toBeGreaterThan(afterPut);
  expect(box.open((await store.get('stripe_secret_key'))?.value ?? '')).toBe(sk);
  expect((await store.listAudit(1))[0]).toMatchObject({
    key: 'stripe_secret_key',
    fingerprint: fingerprint(sk),
  });
}
