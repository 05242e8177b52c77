import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateStore } from '../../src/store/state-store.js';
import { ALL_STATE_BACKENDS, anyStateBackend, type AnyStateBackend } from './any-state-backend.js';
import { newRun, siteResult, siteUrl } from './state-store-fixture.js';

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

/**
 * Migration 4: a run coordinated on another machine is judged by its coordinator's heartbeat. A fresh
 * heartbeat keeps it running whoever starts; a stale one makes it `interrupted` (and resumable); a
 * run with no heartbeat at all (the CLI's) is left alone, as before.
 */
describe.each(ALL_STATE_BACKENDS)('runs of other hosts on %s', (backend) => {
  let fx: AnyStateBackend;
  let store: StateStore;
  beforeEach(async () => {
    fx = anyStateBackend(backend);
    store = await fx.open();
  });
  afterEach(() => fx.cleanup());

  const elsewhere = async (heartbeat: string | null) => {
    const run = await store.createRun(newRun([siteUrl(1), siteUrl(2)]));
    await fx.sql(`UPDATE runs SET owner_host = $1, owner_pid = 1, owner_heartbeat_at = $2 WHERE id = $3`, [
      'another-machine',
      heartbeat,
      run.id,
    ]);
    return run.id;
  };

  it('marks interrupted only the runs whose coordinator stopped beating', async () => {
    const fresh = await elsewhere(ago(1_000));
    const stale = await elsewhere(ago(45_000));
    const silent = await elsewhere(null);
    await store.recordSite(stale, siteResult(siteUrl(1), 'ok'));

    expect(await store.markInterrupted()).toEqual([stale]);
    expect((await store.getRun(stale))?.summary).toMatchObject({ total: 2, ok: 1 });
    for (const id of [fresh, silent]) expect((await store.getRun(id))?.state).toBe('running');
    // The threshold is the caller's: 500 ms makes the 1 s old heartbeat stale too.
    expect(await store.markInterrupted({ staleAfterMs: 500 })).toEqual([fresh]);
  });

  it('beats only for running runs, and a beat keeps a run alive', async () => {
    const id = await elsewhere(ago(45_000));
    const done = await store.createRun(newRun([siteUrl(3)]));
    await store.finishRun(done.id, 'done');
    await store.heartbeat([id, done.id]);
    expect(await store.markInterrupted()).toEqual([]);
    const [row] = await fx.sql<{ owner_heartbeat_at: string | null }>(
      'SELECT owner_heartbeat_at FROM runs WHERE id = $1',
      [done.id],
    );
    expect(row?.owner_heartbeat_at).toBeNull();
  });

  it('lets a stale coordinator run be taken over, and the new owner starts with no heartbeat', async () => {
    const id = await elsewhere(ago(45_000));
    const reopened = await store.reopenRun(id);
    expect(reopened.state).toBe('running');
    const [row] = await fx.sql<{ owner_heartbeat_at: string | null; owner_host: string }>(
      'SELECT owner_heartbeat_at, owner_host FROM runs WHERE id = $1',
      [id],
    );
    expect(row?.owner_heartbeat_at).toBeNull();
    expect(row?.owner_host).not.toBe('another-machine');
    await expect(store.reopenRun(await elsewhere(ago(1_000)))).rejects.toThrow(/still running/);
  });

  it('reads the results of some sites only', async () => {
    const run = await store.createRun(newRun([siteUrl(1), siteUrl(2), siteUrl(3)]));
    await store.recordSite(run.id, siteResult(siteUrl(2), 'ok'));
    const urls = [siteUrl(3), siteUrl(2)];
    expect((await store.siteResults(run.id, { urls })).map((r) => r.url)).toEqual([siteUrl(2), siteUrl(3)]);
    expect((await store.siteResults(run.id, { urls, status: ['pending'] })).map((r) => r.url)).toEqual([
      siteUrl(3),
    ]);
    expect(await store.siteResults(run.id, { urls: [] })).toEqual([]);
  });
});
