import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LATEST_STATE_SCHEMA_VERSION } from '../../src/store/state-migrations.js';
import type { StateStore } from '../../src/store/state-store.js';
import { ALL_STATE_BACKENDS, anyStateBackend, type AnyStateBackend } from './any-state-backend.js';
import { siteUrl } from './state-store-fixture.js';

/** State migration 6 (issue 9): the protocol each site was last detected to speak, on both backends. */
describe.each(ALL_STATE_BACKENDS)('site protocols on %s', (backend) => {
  let fx: AnyStateBackend;
  let store: StateStore;
  beforeEach(async () => {
    fx = anyStateBackend(backend);
    store = await fx.open();
  });
  afterEach(() => fx.cleanup());

  it('migration 6 is part of the schema', () => {
    expect(LATEST_STATE_SCHEMA_VERSION).toBeGreaterThanOrEqual(6);
  });

  it('remembers, updates and survives a restart; unknown sites are absent', async () => {
    expect(await store.siteProtocols([siteUrl(1)])).toEqual(new Map());
    await store.rememberProtocols([
      { url: siteUrl(1), protocol: 'seed' },
      { url: siteUrl(2), protocol: 'keyfleet' },
    ]);
    await store.rememberProtocols([{ url: siteUrl(1), protocol: 'keyfleet' }, { url: siteUrl(3), protocol: 'seed' }]);
    await store.close();
    const reopened = await fx.open();
    expect(await reopened.siteProtocols([siteUrl(1), siteUrl(2), siteUrl(3), siteUrl(4)])).toEqual(
      new Map([
        [siteUrl(1), 'keyfleet'],
        [siteUrl(2), 'keyfleet'],
        [siteUrl(3), 'seed'],
      ]),
    );
    await reopened.rememberProtocols([]);
    expect(await reopened.siteProtocols([])).toEqual(new Map());
  });
});
