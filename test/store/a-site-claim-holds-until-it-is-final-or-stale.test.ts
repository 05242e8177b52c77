import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SiteClaim, StateStore } from '../../src/store/state-store.js';
import { ALL_STATE_BACKENDS, anyStateBackend, type AnyStateBackend } from './any-state-backend.js';
import { newRun, siteResult, siteUrl } from './state-store-fixture.js';

const sites = [siteUrl(1), siteUrl(2)];

/**
 * claimSite (migration 5), on every backend: one claim per pending site at a time, taken over only
 * once stale (or, at a reopen, once its process is known dead), refused for a final site, and
 * refused to a job of the run's previous coordination.
 */
describe.each(ALL_STATE_BACKENDS)('site claims on %s', (backend) => {
  let fx: AnyStateBackend;
  let store: StateStore;

  beforeEach(async () => {
    fx = anyStateBackend(backend);
    store = await fx.open();
  });
  afterEach(() => fx.cleanup());

  it('gives a pending site to one claimant until its claim is stale, and a final site to none', async () => {
    const run = await store.createRun(newRun(sites));
    expect(run.coordination).toMatch(/^[0-9a-f-]{36}$/);
    const claim: SiteClaim = {
      coordination: run.coordination as string,
      claimant: 'a',
      staleAfterMs: 60_000,
    };
    expect(await store.claimSite(run.id, siteUrl(1), claim)).toBe(true);
    expect(await store.claimSite(run.id, siteUrl(1), { ...claim, claimant: 'b' })).toBe(false);
    // Stale at once: the claim can be taken over.
    expect(await store.claimSite(run.id, siteUrl(1), { ...claim, claimant: 'b', staleAfterMs: -1 })).toBe(
      true,
    );
    await store.recordSite(run.id, siteResult(siteUrl(2), 'ok'));
    expect(await store.claimSite(run.id, siteUrl(2), claim)).toBe(false);
    expect(await store.claimSite(run.id, siteUrl(9), claim)).toBe(false);
  });

  it('draws a new coordination on reopen: claims under the old one are refused', async () => {
    const run = await store.createRun(newRun(sites));
    await store.finishRun(run.id, 'interrupted');
    const old: SiteClaim = { coordination: run.coordination as string, claimant: 'a', staleAfterMs: 60_000 };
    expect(await store.claimSite(run.id, siteUrl(1), old)).toBe(false); // not running
    const reopened = await store.reopenRun(run.id);
    expect(reopened.coordination).not.toBe(run.coordination);
    expect((await store.getRun(run.id))?.coordination).toBe(reopened.coordination);
    expect(await store.claimSite(run.id, siteUrl(1), old)).toBe(false);
    expect(
      await store.claimSite(run.id, siteUrl(1), { ...old, coordination: reopened.coordination as string }),
    ).toBe(true);
  });

  it('releases on reopen the claims of a process known dead, not those of a live one', async () => {
    const run = await store.createRun(newRun(sites));
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid as number;
    const claim = (claimant: string, url: string) =>
      store.claimSite(run.id, url, {
        coordination: run.coordination as string,
        claimant,
        staleAfterMs: 60_000,
      });
    expect(await claim(`${hostname()} ${deadPid} job-1`, siteUrl(1))).toBe(true);
    expect(await claim(`${hostname()} ${process.pid} job-2`, siteUrl(2))).toBe(true);
    await store.finishRun(run.id, 'cancelled');
    const reopened = await store.reopenRun(run.id);
    const again = (url: string) =>
      store.claimSite(run.id, url, {
        coordination: reopened.coordination as string,
        claimant: 'resume',
        staleAfterMs: 60_000,
      });
    expect(await again(siteUrl(1))).toBe(true);
    expect(await again(siteUrl(2))).toBe(false);
  });
});
