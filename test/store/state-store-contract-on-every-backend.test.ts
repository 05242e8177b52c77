import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import type { StateStore } from '../../src/store/state-store.js';
import { makeKey } from '../helpers/keys.js';
import { ALL_STATE_BACKENDS, anyStateBackend, type AnyStateBackend } from './any-state-backend.js';
import { newRun, siteResult, siteUrl } from './state-store-fixture.js';

/** A pid that no process has any more (a child that already exited). */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid as number;

/** The StateStore contract the push pipeline relies on, on SQLite and on Postgres alike. */
describe.each(ALL_STATE_BACKENDS)('state store contract on %s', (backend) => {
  let fx: AnyStateBackend;
  let store: StateStore;
  beforeEach(async () => {
    fx = anyStateBackend(backend);
    store = await fx.open();
  });
  afterEach(() => fx.cleanup());

  it('keeps one row per site however often it is written, and freezes the counts at the end', async () => {
    const sites = [siteUrl(1), siteUrl(2), siteUrl(1), siteUrl(3)];
    const run = await store.createRun(newRun(sites));
    expect(run).toMatchObject({ state: 'running', summary: { total: 3, ok: 0 } });
    const before = { publishable_key: null, price_id: null, fingerprints: { stripe_secret_key: 'aaaa' } };
    await store.recordSite(run.id, siteResult(siteUrl(1), 'pending', { before }));
    await store.recordSite(
      run.id,
      siteResult(siteUrl(1), 'ok', { before: { ...before, fingerprints: { stripe_secret_key: 'bbbb' } } }),
    );
    await store.recordSite(
      run.id,
      siteResult(siteUrl(2), 'failed', {
        error: { code: 'timeout', http_status: null, message: `leaked ${makeKey('sk')}`, hint: 'h' },
      }),
    );
    await store.recordSite(run.id, siteResult(siteUrl(9), 'skipped'));
    expect((await store.getRun(run.id))?.summary).toEqual({
      total: 4,
      ok: 1,
      failed: 1,
      skipped: 1,
      unchanged: 0,
    });
    const results = await store.siteResults(run.id);
    expect(results.map((r) => r.url)).toEqual([siteUrl(1), siteUrl(2), siteUrl(3), siteUrl(9)]);
    expect(results[0]?.before?.fingerprints).toEqual({ stripe_secret_key: 'aaaa' });
    expect(results[1]?.error?.message).not.toMatch(/sk_test_[A-Za-z0-9]{5}/);
    expect((await store.siteResults(run.id, { status: ['pending'] })).map((r) => r.url)).toEqual([
      siteUrl(3),
    ]);
    const done = await store.finishRun(run.id, 'halted');
    expect(done).toMatchObject({ state: 'halted', summary: { total: 4, ok: 1 } });
    await expect(store.recordSite(run.id, siteResult(siteUrl(3), 'ok'))).rejects.toThrow(/halted/);
    expect((await store.listRuns())[0]?.id).toBe(run.id);
  });

  it("marks a dead process's run interrupted, and lets it be reopened once", async () => {
    const run = await store.createRun(newRun([siteUrl(1), siteUrl(2)]));
    await store.recordSite(run.id, siteResult(siteUrl(1), 'ok'));
    expect(await store.markInterrupted()).toEqual([]); // its owner (this process) is alive
    await fx.sql('UPDATE runs SET owner_pid = $1 WHERE id = $2', [deadPid(), run.id]);
    expect(await store.markInterrupted()).toEqual([run.id]);
    expect(await store.getRun(run.id)).toMatchObject({ state: 'interrupted', summary: { total: 2, ok: 1 } });
    expect((await store.reopenRun(run.id)).state).toBe('running');
    await expect(store.reopenRun(run.id)).rejects.toThrow(/still running/);
    await store.recordSite(run.id, siteResult(siteUrl(2), 'ok'));
    await store.finishRun(run.id, 'done');
    await expect(store.reopenRun(run.id)).rejects.toThrow(/done/);
  });

  it('seals key versions, gives the same version for the same keys, and opens values by fingerprint', async () => {
    const sk = makeKey('sk');
    const pk = makeKey('pk');
    const v1 = await store.saveKeyVersion({ stripe_publishable_key: pk, stripe_secret_key: sk }, 'tester');
    expect(v1.id).toBe('v1');
    expect(
      (await store.saveKeyVersion({ stripe_secret_key: sk, stripe_publishable_key: pk }, 'other')).id,
    ).toBe('v1');
    const v2 = await store.saveKeyVersion({ stripe_secret_key: makeKey('sk') }, 'tester');
    expect(v2.id).toBe('v2');
    expect((await store.listKeyVersions()).map((v) => v.id)).toEqual(['v2', 'v1']);
    expect(await store.secretByFingerprint('stripe_secret_key', fingerprint(sk))).toBe(sk);
    expect(await store.secretByFingerprint('stripe_secret_key', '0000000000000000')).toBeUndefined();
    expect((await fx.dump()).includes(sk)).toBe(false);
  });
});
