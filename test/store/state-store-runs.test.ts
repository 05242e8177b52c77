import { workerName } from '../../src/store/run-records.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maskedKey } from '../../src/keys/masked-key.js';
import { migrationName } from '../../src/store/sql/migrate.js';
import { LATEST_STATE_SCHEMA_VERSION } from '../../src/store/state-migrations.js';
import type { StateStore } from '../../src/store/state-store.js';
import { makeKey } from '../helpers/keys.js';
import {
  STATE_BACKENDS,
  newRun,
  siteResult,
  siteUrl,
  stateFixture,
  type StateFixture,
} from './state-store-fixture.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const sites = [siteUrl(1), siteUrl(2), siteUrl(3), siteUrl(4)];

describe.each(STATE_BACKENDS)('state store runs on %s', (backend) => {
  let fx: StateFixture;
  let store: StateStore;

  beforeEach(async () => {
    fx = stateFixture(backend);
    store = await fx.open();
  });
  afterEach(() => fx.cleanup());

  it('creates a running run with one pending row per site, then finishes it with a summary from the rows', async () => {
    const sk = makeKey('sk', 'live');
    const run = await store.createRun(newRun(sites, { keys: { stripe_secret_key: maskedKey(sk) } }));
    expect(run.id).toMatch(/^\d{8}-\d{6}-[0-9a-z]{4}$/);
    expect(run).toMatchObject({ state: 'running', finished_at: null, command: 'push', dry_run: false });
    expect(run.started_at).toMatch(ISO_UTC);
    expect(run.summary).toEqual({ total: 4, ok: 0, failed: 0, skipped: 0, unchanged: 0 });
    expect((await store.siteResults(run.id)).map((r) => [r.url, r.status])).toEqual(
      sites.map((u) => [u, 'pending']),
    );

    await store.recordSite(run.id, siteResult(siteUrl(1), 'ok'));
    await store.recordSite(run.id, siteResult(siteUrl(3), 'failed'));
    await store.recordSite(run.id, siteResult(siteUrl(4), 'unchanged'));
    // While running, the summary is live.
    expect((await store.getRun(run.id))?.summary).toEqual({
      total: 4,
      ok: 1,
      failed: 1,
      skipped: 0,
      unchanged: 1,
    });

    const done = await store.finishRun(run.id, 'halted');
    expect(done.state).toBe('halted');
    expect(done.finished_at).toMatch(ISO_UTC);
    expect(done.summary).toEqual({ total: 4, ok: 1, failed: 1, skipped: 0, unchanged: 1 });
    expect(done.keys.stripe_secret_key?.last4).toBe(sk.slice(-4));
    expect(await store.getRun(run.id)).toEqual(done);
  });

  it('reads results without what each site held before, for a report (before: false)', async () => {
    const run = await store.createRun(newRun([siteUrl(1), siteUrl(2)]));
    const before = { publishable_key: null, price_id: null, fingerprints: { stripe_secret_key: 'aaaa' } };
    await store.recordSites(run.id, [siteResult(siteUrl(1), 'ok', { before }), siteResult(siteUrl(2), 'failed', { before })]);
    const full = await store.siteResults(run.id);
    const lean = await store.siteResults(run.id, { before: false });
    expect(full.map((r) => r.before?.fingerprints)).toEqual([{ stripe_secret_key: 'aaaa' }, { stripe_secret_key: 'aaaa' }]);
    expect(lean.map((r) => r.before)).toEqual([null, null]);
    expect(lean.map(({ before: _, ...rest }) => rest)).toEqual(full.map(({ before: _, ...rest }) => rest));
  });

  it('counts a site written three times once (recordSite is an upsert)', async () => {
    const run = await store.createRun(newRun([siteUrl(1), siteUrl(2)]));
    await store.recordSite(run.id, siteResult(siteUrl(1), 'failed', { attempts: 1 }));
    await store.recordSite(run.id, siteResult(siteUrl(1), 'failed', { attempts: 2 }));
    await store.recordSite(run.id, siteResult(siteUrl(1), 'ok', { attempts: 3 }));
    const done = await store.finishRun(run.id, 'done');
    expect(done.summary).toEqual({ total: 2, ok: 1, failed: 0, skipped: 0, unchanged: 0 });
    const rows = fx.raw<{ n: number }>('SELECT COUNT(*) AS n FROM run_sites WHERE run_id = ?', [run.id]);
    expect(rows[0]?.n).toBe(2);
    expect((await store.siteResults(run.id, { status: ['ok'] }))[0]?.attempts).toBe(3);
  });

  it('keeps the original site order, filters by status, and appends a site outside the list', async () => {
    const run = await store.createRun(newRun([siteUrl(3), siteUrl(1), siteUrl(3), siteUrl(2)]));
    expect(run.summary.total).toBe(3); // the repeated URL keeps one row
    const error = { code: 'timeout', http_status: null, message: 'no answer in 8 s', hint: 'check the site' };
    await store.recordSite(run.id, siteResult(siteUrl(2), 'failed', { error }));
    await store.recordSite(run.id, siteResult(siteUrl(9), 'skipped'));
    const before = { publishable_key: null, price_id: null, fingerprints: { stripe_secret_key: null } };
    await store.recordSite(run.id, siteResult(siteUrl(3), 'ok', { before }));
    expect((await store.siteResults(run.id)).map((r) => r.url)).toEqual([3, 1, 2, 9].map(siteUrl));
    // Each result names the process that recorded it (migration 8): this one.
    const worker = workerName();
    expect(await store.siteResults(run.id, { status: ['failed', 'skipped'] })).toEqual([
      { ...siteResult(siteUrl(2), 'failed', { error }), worker },
      { ...siteResult(siteUrl(9), 'skipped'), worker },
    ]);
    expect((await store.siteResults(run.id, { status: ['ok'] }))[0]?.before).toEqual(before);
    // A later reading (a resumed run preflighting again) does not replace what the site had before.
    const later = { ...before, publishable_key: makeKey('pk', 'live') };
    await store.recordSite(run.id, siteResult(siteUrl(3), 'ok', { before: later }));
    expect((await store.siteResults(run.id, { status: ['ok'] }))[0]?.before).toEqual(before);
    expect(await store.siteResults(run.id, { status: [] })).toEqual([]);
  });

  it('lists runs newest first, with a limit', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await store.createRun(newRun([siteUrl(i)]))).id);
    expect(new Set(ids).size).toBe(5);
    expect((await store.listRuns()).map((r) => r.id)).toEqual([...ids].reverse());
    expect((await store.listRuns({ limit: 2 })).map((r) => r.id)).toEqual([ids[4], ids[3]]);
    await expect(store.listRuns({ limit: 0 })).rejects.toThrow('positive integer');
    expect(await store.getRun('20000101-000000-zzzz')).toBeUndefined();
  });

  it('refuses writes to a finished or unknown run, and reopens an interrupted one', async () => {
    const run = await store.createRun(newRun([siteUrl(1), siteUrl(2)]));
    await store.recordSite(run.id, siteResult(siteUrl(1), 'ok'));
    await store.finishRun(run.id, 'cancelled');
    await expect(store.recordSite(run.id, siteResult(siteUrl(2), 'ok'))).rejects.toThrow('is cancelled');
    await expect(store.finishRun(run.id, 'done')).rejects.toThrow('is cancelled');
    await expect(store.recordSite('nope', siteResult(siteUrl(1), 'ok'))).rejects.toThrow('No run nope');
    // A live owner (this process) keeps its running run.
    const live = await store.createRun(newRun([siteUrl(1)]));
    await expect(store.reopenRun(live.id)).rejects.toThrow('still running');

    const reopened = await store.reopenRun(run.id);
    expect(reopened).toMatchObject({ state: 'running', finished_at: null });
    await store.recordSite(run.id, siteResult(siteUrl(2), 'ok'));
    expect((await store.finishRun(run.id, 'done')).summary).toMatchObject({ total: 2, ok: 2 });
    await expect(store.reopenRun(run.id)).rejects.toThrow('nothing to resume');
  });

  it('stores masked keys and options only: stray values and secret-shaped text never reach the file', async () => {
    const sk = makeKey('sk', 'live');
    const keys = { stripe_secret_key: { ...maskedKey(sk), value: sk } };
    const message = `site said: bad key ${sk}`;
    const run = await store.createRun(newRun([siteUrl(1)], { keys, options: { note: `oops ${sk}` } }));
    const error = { code: 'invalid_secret_format', http_status: 400, message, hint: 'fix the key' };
    await store.recordSite(run.id, siteResult(siteUrl(1), 'failed', { error }));
    expect(Object.keys((await store.getRun(run.id))!.keys.stripe_secret_key!)).not.toContain('value');
    await store.close();
    expect(fx.bytes().includes(sk.slice(8))).toBe(false);
  });

  it('migrates idempotently and refuses a database from a newer keyfleet', async () => {
    await (await fx.open()).close();
    expect(fx.raw<{ v: string }>('SELECT MAX(name) AS v FROM state_migrations')[0]?.v).toBe(
      migrationName(LATEST_STATE_SCHEMA_VERSION),
    );
    fx.raw(`INSERT INTO state_migrations VALUES ('${migrationName(LATEST_STATE_SCHEMA_VERSION + 1)}', 'later')`);
    await expect(fx.open()).rejects.toThrow('newer than this keyfleet knows');
  });
});
