import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { runPush } from '../../src/engine/push-run.js';
import type { SiteTask } from '../../src/engine/push-site.js';
import { createSiteClient } from '../../src/engine/site-client.js';
import { snapshotOf } from '../../src/engine/site-state.js';
import { againstStoredBefore } from '../../src/engine/stored-before.js';
import type { SiteSnapshot, StateStore } from '../../src/store/state-store.js';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { ALL_STATE_BACKENDS, anyStateBackend } from '../store/any-state-backend.js';

const PUT_SK = (s: FakeSiteServer) =>
  s.requests.filter((r) => r.method === 'PUT' && r.url.endsWith('/stripe_secret_key'));

/**
 * Issue 14, point 1: a site's outcome within a run is decided against the run's own stored `before`.
 * A worker (a CLI or a dashboard) that stored a site's `before`, wrote the run's keys, and died before
 * storing the result leaves the site `pending` with that `before`; whoever resumes the run finds the
 * run's keys on the site. That site is `ok` (verified by the read), with the changes the run made —
 * not `unchanged` — and it is not written again.
 */
describe.each(ALL_STATE_BACKENDS)('a site the run already wrote (%s)', (backend) => {
  const db = anyStateBackend(backend);
  let state: StateStore;
  const sites: FakeSiteServer[] = [];

  beforeAll(async () => {
    state = await db.open();
  });
  afterEach(async () => {
    await Promise.all(sites.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await db.cleanup();
  });

  async function scenario(preflightAll: boolean) {
    const pk = makeKey('pk');
    const sk = makeKey('sk');
    const oldSk = makeKey('sk');
    // written: the dead worker stored its before, then wrote both keys. fresh: not reached yet.
    // already: held the run's keys before the run (no stored before): truly unchanged.
    const [written, fresh, already] = await Promise.all(
      [0, 1, 2].map(() => startFakeSite({ apiKey: MASTER_KEY, publishableKey: null })),
    );
    sites.push(written!, fresh!, already!);
    for (const s of [written!, fresh!]) s.state.settings.set('stripe_secret_key', oldSk);
    already!.state.settings.set('stripe_secret_key', sk);
    already!.state.settings.set('stripe_publishable_key', pk);

    const desired = { stripe_publishable_key: pk, stripe_secret_key: sk };
    const tasks: SiteTask[] = [written!, fresh!, already!].map((s) => ({
      url: s.url,
      apiKey: MASTER_KEY,
      desired,
    }));
    const run = await state.createRun({
      command: 'push',
      dry_run: false,
      actor: 'test',
      sites_source: null,
      keys: {},
      options: {},
      key_version_id: null,
      sites: tasks.map((t) => t.url),
    });
    const client = createSiteClient({ timeoutMs: 5000, retries: 0, concurrency: 4 });
    try {
      // What the dead worker stored before its writes, read from the site as it did.
      const health = await client.getStripeHealth(written!.url, MASTER_KEY);
      const before = snapshotOf(health.value);
      expect(before.fingerprints.stripe_secret_key).toBeTruthy();
      await state.recordSite(run.id, {
        url: written!.url,
        status: 'pending',
        verified: false,
        attempts: 1,
        duration_ms: 5,
        error: null,
        before,
      });
      written!.state.settings.set('stripe_secret_key', sk);
      written!.state.settings.set('stripe_publishable_key', pk);
      const writesBefore = PUT_SK(written!).length;

      // The resume: runPush reads the stored befores itself (no storedBefore option given).
      const result = await runPush({
        runId: run.id,
        tasks,
        client,
        state,
        dryRun: false,
        canary: 1,
        failureBudget: 0,
        workers: 2,
        preflightAll,
      });
      expect(result.state).toBe('done');
      const finished = await state.finishRun(run.id, 'done');
      expect(finished.summary).toMatchObject({ total: 3, ok: 2, unchanged: 1, failed: 0 });
      const byUrl = new Map((await state.siteResults(run.id)).map((r) => [r.url, r]));
      expect(byUrl.get(written!.url)).toMatchObject({
        status: 'ok',
        verified: true,
        before,
        changes: ['stripe_secret_key', 'stripe_publishable_key'],
      });
      expect(PUT_SK(written!).length).toBe(writesBefore); // not written again
      expect(byUrl.get(fresh!.url)).toMatchObject({
        status: 'ok',
        changes: ['stripe_secret_key', 'stripe_publishable_key'],
      });
      expect(PUT_SK(fresh!)).toHaveLength(1);
      expect(byUrl.get(already!.url)).toMatchObject({ status: 'unchanged', changes: [] });
    } finally {
      await client.close();
    }
  }

  it('is ok with its changes, verified by the read, and not written again', { timeout: 30_000 }, () =>
    scenario(false),
  );
  it('is the same with --preflight-all', { timeout: 30_000 }, () => scenario(true));
});

describe('againstStoredBefore', () => {
  const pk = makeKey('pk');
  const desired = { stripe_publishable_key: pk };
  const base = {
    url: 'https://a.example',
    verified: true,
    attempts: 1,
    duration_ms: 1,
    error: null,
  };
  const held: SiteSnapshot = {
    publishable_key: pk,
    price_id: null,
    fingerprints: { stripe_publishable_key: fingerprint(pk) },
  };
  const old: SiteSnapshot = { publishable_key: 'pk_test_old', price_id: null, fingerprints: {} };

  it('leaves an outcome alone without a stored before', () => {
    const o = { ...base, status: 'unchanged' as const, before: held, changes: [] };
    expect(againstStoredBefore(o, desired, undefined)).toBe(o);
  });
  it('keeps unchanged when the stored before already held the keys', () => {
    const o = { ...base, status: 'unchanged' as const, before: held, changes: [] };
    expect(againstStoredBefore(o, desired, held)).toMatchObject({ status: 'unchanged', changes: [] });
  });
  it('keeps a failure failed, with the stored before', () => {
    const o = { ...base, status: 'failed' as const, verified: false, before: held, changes: [] };
    expect(againstStoredBefore(o, desired, old)).toMatchObject({
      status: 'failed',
      before: old,
      changes: [],
    });
  });
});
