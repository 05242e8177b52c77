import { workerName } from '../../src/store/run-records.js';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StateStore } from '../../src/store/state-store.js';
import { makeKey } from '../helpers/keys.js';
import { ALL_STATE_BACKENDS, anyStateBackend, type AnyStateBackend } from './any-state-backend.js';
import { newRun, siteResult, siteUrl } from './state-store-fixture.js';

/**
 * A site result's `changes` (the settings a push wrote, or a dry run would write) are stored with the
 * result, so a preview read after a restart is complete; and `recordSites` is one transaction.
 */
describe.each(ALL_STATE_BACKENDS)('site changes on %s', (backend) => {
  let fx: AnyStateBackend;
  let store: StateStore;
  beforeEach(async () => {
    fx = anyStateBackend(backend);
    store = await fx.open();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await fx.cleanup();
  });

  it('reads back the changes each write recorded, after a restart too; the last write wins', async () => {
    const run = await store.createRun(newRun([siteUrl(1), siteUrl(2), siteUrl(3)], { dry_run: true }));
    await store.recordSite(
      run.id,
      siteResult(siteUrl(1), 'ok', { changes: ['stripe_secret_key', 'stripe_publishable_key'] }),
    );
    await store.recordSite(run.id, siteResult(siteUrl(2), 'unchanged', { changes: [] }));
    await store.recordSite(run.id, siteResult(siteUrl(3), 'pending', { changes: ['stripe_price_id'] }));
    await store.recordSite(run.id, siteResult(siteUrl(3), 'ok', { changes: ['stripe_webhook_secret'] }));
    await store.finishRun(run.id, 'done');
    await store.close();

    const reopened = await fx.open();
    const results = await reopened.siteResults(run.id);
    expect(results.map((r) => [r.url, r.changes])).toEqual([
      [siteUrl(1), ['stripe_secret_key', 'stripe_publishable_key']],
      [siteUrl(2), []],
      [siteUrl(3), ['stripe_webhook_secret']],
    ]);
    expect((await reopened.siteResults(run.id, { status: ['ok'] })).map((r) => r.changes)).toEqual([
      ['stripe_secret_key', 'stripe_publishable_key'],
      ['stripe_webhook_secret'],
    ]);
  });

  it('leaves changes out of a result recorded without them', async () => {
    const run = await store.createRun(newRun([siteUrl(1)]));
    await store.recordSite(run.id, siteResult(siteUrl(1), 'ok'));
    const [result] = await store.siteResults(run.id);
    expect(result).toEqual({ ...siteResult(siteUrl(1), 'ok'), worker: workerName() });
    expect(result).not.toHaveProperty('changes');
  });

  it('refuses anything but setting names in changes, and stores none of it', async () => {
    const value = makeKey('sk');
    const run = await store.createRun(newRun([siteUrl(1)]));
    const bad = { ...siteResult(siteUrl(1), 'ok'), changes: [value] } as never;
    const err = await store.recordSite(run.id, bad).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toContain(value);
    await expect(store.recordSites(run.id, [bad])).rejects.toThrow(/setting names/);
    expect((await store.siteResults(run.id))[0]?.status).toBe('pending');
    expect(await fx.dump()).not.toContain(value);
  });

  it('records a batch as recording each in turn would: last result wins, first before kept, new sites appended', async () => {
    const run = await store.createRun(newRun([siteUrl(1), siteUrl(2)]));
    const before = (fp: string) => ({
      publishable_key: null,
      price_id: null,
      fingerprints: { stripe_secret_key: fp },
    });
    await store.recordSites(run.id, [
      siteResult(siteUrl(9), 'failed', { changes: ['stripe_price_id'] }),
      siteResult(siteUrl(2), 'pending', { before: null }),
      siteResult(siteUrl(2), 'pending', { before: before('first') }),
      siteResult(siteUrl(8), 'skipped'),
      siteResult(siteUrl(2), 'ok', { before: before('second'), changes: ['stripe_secret_key'] }),
      siteResult(siteUrl(9), 'ok', { changes: ['stripe_publishable_key'] }),
    ]);
    const results = await store.siteResults(run.id);
    expect(results.map((r) => [r.url, r.status, r.changes])).toEqual([
      [siteUrl(1), 'pending', undefined],
      [siteUrl(2), 'ok', ['stripe_secret_key']],
      [siteUrl(9), 'ok', ['stripe_publishable_key']],
      [siteUrl(8), 'skipped', undefined],
    ]);
    expect(results[1]?.before).toEqual(before('first'));
    expect((await store.getRun(run.id))?.summary).toMatchObject({ total: 4, ok: 2, skipped: 1 });
    // A later batch keeps the before the first one recorded.
    await store.recordSites(run.id, [siteResult(siteUrl(2), 'ok', { before: before('third') })]);
    expect((await store.siteResults(run.id))[1]?.before).toEqual(before('first'));
  });

  it('records a batch in one transaction: a bad row at the end writes nothing', async () => {
    const run = await store.createRun(newRun([siteUrl(1), siteUrl(2)]));
    await expect(
      store.recordSites(run.id, [
        siteResult(siteUrl(1), 'ok', { changes: ['stripe_secret_key'] }),
        siteResult(siteUrl(2), 'ok', { attempts: Number.NaN }), // refused by the database (NOT NULL / integer)
      ]),
    ).rejects.toThrow();
    expect((await store.siteResults(run.id)).map((r) => r.status)).toEqual(['pending', 'pending']);
  });

  it('refuses a batch for a run that is not running, writing nothing', async () => {
    const run = await store.createRun(newRun([siteUrl(1)]));
    await store.finishRun(run.id, 'halted');
    await expect(store.recordSites(run.id, [siteResult(siteUrl(1), 'ok')])).rejects.toThrow(/halted/);
    await expect(store.recordSites('20000101-000000-zzzz', [siteResult(siteUrl(1), 'ok')])).rejects.toThrow(
      /No run/,
    );
    expect((await store.siteResults(run.id))[0]?.status).toBe('pending');
  });

  it.runIf(backend === 'postgres')('sends a batch of 500 results to Postgres in one query', async () => {
    const urls = Array.from({ length: 500 }, (_, i) => siteUrl(i));
    const run = await store.createRun(newRun(urls));
    // Kysely's pool runs each statement on a checked-out client: one client query is one round-trip.
    const query = vi.spyOn(pg.Client.prototype, 'query');
    await store.recordSites(
      run.id,
      urls.map((u) => siteResult(u, 'pending', { changes: ['stripe_secret_key'] })),
    );
    expect(query).toHaveBeenCalledTimes(1);
    query.mockRestore();
    const results = await store.siteResults(run.id);
    expect(results.map((r) => r.url)).toEqual(urls);
    expect(results.every((r) => r.changes?.[0] === 'stripe_secret_key')).toBe(true);
  });
});
