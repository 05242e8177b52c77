import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { openSettingsStore } from '../../src/store/open-settings-store.js';
import type { SettingsStore } from '../../src/store/settings-store.js';
import { SettingsService } from '../../src/template/settings-service.js';
import { makeKey } from '../helpers/keys.js';

const dir = mkdtempSync(join(tmpdir(), 'keyfleet-race-'));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Regression: on Postgres a PUT's own re-read could be overtaken by the read its NOTIFY triggers;
 * the PUT answered before the newer read landed and the next GET saw no key. put() must not
 * return until a snapshot read started after its write has been installed, and reads that overlap
 * are shared: at most one in flight and one queued.
 */
it('put() returns only once a snapshot read started after its write is installed', async () => {
  const real = await openSettingsStore(`sqlite:${join(dir, 'site.db')}`);
  const gates: Array<() => void> = [];
  let notify: (key: string) => void = () => undefined;
  let started = false;
  const store: SettingsStore = Object.assign(Object.create(real) as SettingsStore, {
    // Every refresh starts with the generation: gating it holds the whole read.
    generation: (): Promise<number> =>
      started ? new Promise<void>((resolve) => gates.push(resolve)).then(() => real.generation()) : real.generation(),
    subscribe: async (listener: (key: string) => void) => {
      notify = listener;
      return async () => undefined;
    },
  });
  const service = new SettingsService(store, {}, null);
  await service.start();
  started = true;

  const [pkA, pkB] = [makeKey('pk'), makeKey('pk')];
  let returnedA = false;
  let returnedB = false;
  const putA = service.put('stripe_publishable_key', pkA, null).then(() => (returnedA = true));
  await vi.waitFor(() => expect(gates).toHaveLength(1)); // A's own read is in flight
  notify('stripe_publishable_key'); // queued behind it, not a second read in flight
  const putB = service.put('stripe_publishable_key', pkB, null).then(() => (returnedB = true));
  await new Promise((r) => setImmediate(r));
  expect(gates).toHaveLength(1);
  gates[0]!(); // the read that started before B's write: A may return, B may not
  await putA;
  // Its read ran once released, after B's write too: A sees its own value or a newer one, never none.
  expect([pkA, pkB]).toContain(service.get('stripe_publishable_key')?.value);
  expect(returnedB).toBe(false); // B's write came after that read started: B waits for the next
  await vi.waitFor(() => expect(gates).toHaveLength(2));
  expect(returnedB).toBe(false);
  gates[1]!();
  await putB;
  expect(returnedA && returnedB).toBe(true);
  expect(service.get('stripe_publishable_key')?.value).toBe(pkB);
  expect(service.publishableKeyBody()).toContain(pkB);
  await real.close();
});
