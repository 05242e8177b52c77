import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiteJob } from '../../src/dashboard/runs/run-queue.js';
import { SiteJobWorker } from '../../src/dashboard/runs/site-jobs.js';
import { createSiteClient, type SiteClient } from '../../src/engine/site-client.js';
import type { StateStore } from '../../src/store/state-store.js';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { anyStateBackend } from '../store/any-state-backend.js';
import { DASHBOARD_BACKEND } from './dashboard-fixture.js';

const SITES = 6;

/**
 * Regression: a shared run's site could be worked by two jobs at once — the same sites queued twice,
 * a job that overran its expiry given to a second worker, or a job left from before the run was
 * resumed. Now a job of an older coordination is dropped and each site is claimed before it is
 * touched, so every site is written once; a claim whose worker died is taken over once stale.
 * The duplicates are made by hand (no timing): two workers get the same job at once. Postgres only.
 */
describe.skipIf(DASHBOARD_BACKEND !== 'postgres')(
  'a site of a shared run is worked by one job at a time',
  () => {
    const db = anyStateBackend('postgres');
    const sites: FakeSiteServer[] = [];
    const clients: SiteClient[] = [];
    const warnings: string[] = [];
    let state: StateStore;
    let versionId: string;

    const worker = (claimStaleMs = 60_000) => {
      const client = createSiteClient({ timeoutMs: 5000, retries: 0, concurrency: 4 });
      clients.push(client);
      return new SiteJobWorker({
        state,
        client,
        masterKey: MASTER_KEY,
        concurrency: 4,
        log: { warn: (_obj, msg) => warnings.push(msg) },
        onSettled: () => undefined,
        claimStaleMs,
        claimRetryMs: 50,
        refreshMs: 100,
      });
    };
    const job = (id: string, runId: string, coordination: string): SiteJob => ({
      id,
      data: { run_id: runId, coordination, urls: sites.map((s) => s.url) },
      signal: new AbortController().signal,
    });
    const newRun = () =>
      state.createRun({
        command: 'push',
        dry_run: false,
        actor: 'test',
        sites_source: null,
        keys: {},
        options: { desired: { default: versionId, others: {} }, max_failures: '100%' },
        key_version_id: versionId,
        sites: sites.map((s) => s.url),
      });
    /** How many times each site was written its secret key since `marks`. */
    const writes = (marks: number[]) =>
      sites.map(
        (s, i) =>
          s.requests.slice(marks[i]).filter((r) => r.method === 'PUT' && r.url.endsWith('/stripe_secret_key'))
            .length,
      );
    const marks = () => sites.map((s) => s.requests.length);

    beforeAll(async () => {
      state = await db.open();
      for (let i = 0; i < SITES; i++) {
        const site = await startFakeSite({ apiKey: MASTER_KEY, publishableKey: null, delayMs: 60 });
        sites.push(site);
        await state.fleet.addSite({
          url: site.url,
          name: `shop-${i}`,
          tags: [],
          apiKey: null,
          source: 'admin',
          addedBy: 'test',
        });
      }
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all(sites.map((s) => s.close()));
      await state.close();
      await db.cleanup();
    });

    const newKeys = async () => {
      const saved = await state.saveKeyVersion(
        { stripe_publishable_key: makeKey('pk'), stripe_secret_key: makeKey('sk') },
        'test',
      );
      versionId = saved.id;
    };

    it('works each site once when two workers get the same job at the same time', async () => {
      await newKeys();
      const run = await newRun();
      const from = marks();
      const [a, b] = [worker(), worker()];
      await Promise.all([
        a.work(job('job-1', run.id, run.coordination as string)),
        b.work(job('job-2', run.id, run.coordination as string)),
      ]);
      expect(writes(from)).toEqual(sites.map(() => 1));
      const results = await state.siteResults(run.id);
      expect(results.map((r) => r.status)).toEqual(sites.map(() => 'ok'));
    });

    it('drops a job queued before the run was resumed', async () => {
      await newKeys();
      const run = await newRun();
      await state.finishRun(run.id, 'interrupted');
      const resumed = await state.reopenRun(run.id);
      expect(resumed.coordination).not.toBe(run.coordination);
      const from = marks();
      const w = worker();
      await w.work(job('old', run.id, run.coordination as string));
      expect(sites.map((s, i) => s.requests.length - (from[i] as number))).toEqual(sites.map(() => 0));
      expect(warnings).toContain('dropped a job of a shared run queued before it was resumed');
      // The old job again, alongside the resume's own: still each site once.
      await Promise.all([
        w.work(job('old', run.id, run.coordination as string)),
        worker().work(job('new', run.id, resumed.coordination as string)),
      ]);
      expect(writes(from)).toEqual(sites.map(() => 1));
    });

    it('takes over a site whose claim went stale (its worker died), not before', async () => {
      await newKeys();
      const run = await newRun();
      const dead = sites[0] as FakeSiteServer;
      const stale = 1500;
      const claim = {
        coordination: run.coordination as string,
        claimant: 'dead-worker',
        staleAfterMs: stale,
      };
      expect(await state.claimSite(run.id, dead.url, claim)).toBe(true);
      const claimedAt = Date.now();
      // A fresh claim is not taken, whoever asks.
      expect(await state.claimSite(run.id, dead.url, { ...claim, claimant: 'someone-else' })).toBe(false);
      const from = marks();
      // The other sites take well under a second; the job ends only once it has worked the dead one's.
      await worker(stale).work(job('retry', run.id, run.coordination as string));
      expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(stale);
      expect(writes(from)).toEqual(sites.map(() => 1));
      const results = await state.siteResults(run.id);
      expect(results.map((r) => r.status)).toEqual(sites.map(() => 'ok'));
    });
  },
);
