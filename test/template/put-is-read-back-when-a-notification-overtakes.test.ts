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
 * return until a read started after its write has been applied.
 */
it('put() waits for the newer read when its own read was overtaken', async () => {
  const real = await openSettingsStore(`sqlite:${join(dir, 'site.db')}`);
  const gates: Array<() => void> = [];
  let notify: (key: string) => void = () => undefined;
  const store: SettingsStore = Object.assign(Object.create(real) as SettingsStore, {
    get: (key: string) => new Promise<void>((resolve) => gates.push(resolve)).then(() => real.get(key)),
    subscribe: async (listener: (key: string) => void) => {
      notify = listener;
      return async () => undefined;
    },
  });
  const service = new SettingsService(store, {}, null);
  await service.start();

  const pk = makeKey('pk');
  let returned = false;
  const put = service.put('stripe_publishable_key', pk, null).then(() => (returned = true));
  await vi.waitFor(() => expect(gates).toHaveLength(1)); // the put's own read is in flight
  notify('stripe_publishable_key'); // the notification's read starts after it
  expect(gates).toHaveLength(2);
  gates[0]!(); // the older read finishes first and is discarded
  await new Promise((r) => setImmediate(r));
  expect(returned).toBe(false);
  gates[1]!();
  await put;
  expect(service.get('stripe_publishable_key')?.value).toBe(pk);
  expect(service.publishableKeyBody()).toContain(pk);
  await real.close();
});
