import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openSettingsStore } from '../../src/store/open-settings-store.js';
import type { SettingsStore } from '../../src/store/settings-store.js';
import { SettingsService } from '../../src/template/settings-service.js';
import { makeKey } from '../helpers/keys.js';

const dir = mkdtempSync(join(tmpdir(), 'keyfleet-stall-'));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * With read-after-write on, a read first checks the database's change counter. A database that stops
 * answering (or fails) must not stall or blank /api/stripe-pk: past the check's bound the read is
 * served from the cached snapshot.
 */
it('serves the cached snapshot when the read-after-write check hangs or fails', async () => {
  const real = await openSettingsStore(`sqlite:${join(dir, 'site.db')}`);
  const pk = makeKey('pk');
  await real.put('stripe_publishable_key', pk, { fingerprint: null, actorIp: null });
  let mode: 'ok' | 'hang' | 'fail' = 'ok';
  const store: SettingsStore = Object.assign(Object.create(real) as SettingsStore, {
    generation: () =>
      mode === 'ok' ? real.generation() : mode === 'hang' ? new Promise<number>(() => undefined) : Promise.reject(new Error('connection refused')),
  });
  const service = new SettingsService(store, {}, null, { readAfterWrite: true, checkTimeoutMs: 50 });
  await service.start();
  expect((await service.forRead()).pkBody).toContain(pk);
  mode = 'hang';
  const reads = await Promise.all(Array.from({ length: 20 }, () => service.forRead()));
  for (const snap of reads) expect(snap.pkBody).toContain(pk);
  mode = 'fail';
  expect((await service.forRead()).pkBody).toContain(pk);
  mode = 'ok';
  const pk2 = makeKey('pk');
  await real.put('stripe_publishable_key', pk2, { fingerprint: null, actorIp: null });
  expect((await service.forRead()).pkBody).toContain(pk2);
  await service.stop();
  await real.close();
});
