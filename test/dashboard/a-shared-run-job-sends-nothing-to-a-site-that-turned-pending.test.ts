import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiteJob } from '../../src/dashboard/runs/run-queue.js';
import { SiteJobWorker } from '../../src/dashboard/runs/site-jobs.js';
import { createSiteClient, type SiteClient } from '../../src/engine/site-client.js';
import type { StateStore } from '../../src/store/state-store.js';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { anyStateBackend } from '../store/any-state-backend.js';
import { DASHBOARD_BACKEND } from './dashboard-fixture.js';

/**
 * The approval rule (issue 12) on a shared run's jobs (issue 14): a job reads its own sites' approval
 * when it starts, never a copy of the fleet an earlier job of the run read. Regression: the worker
 * kept the fleet for 60 s per run, so a site removed and registered again by a stranger (pending)
 * within that minute was still pushed the keys, with TEMPLATE_MASTER_API_KEY. Postgres only.
 */
describe.skipIf(DASHBOARD_BACKEND !== 'postgres')(
  'a shared run’s job sends nothing to a site that turned pending',
  () => {
    const db = anyStateBackend('postgres');
    const sites: FakeSiteServer[] = [];
    let client: SiteClient;
    let state: StateStore;

    beforeAll(async () => {
      state = await db.open();
      for (let i = 0; i < 2; i++) {
        const site = await startFakeSite({ apiKey: MASTER_KEY, publishableKey: null });
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
      client = createSiteClient({ timeoutMs: 5000, retries: 0, concurrency: 4 });
    });
    afterAll(async () => {
      await client.close();
      await Promise.all(sites.map((s) => s.close()));
      await state.close();
      await db.cleanup();
    });

    it('a later job of the same run leaves out the site that waits for approval', async () => {
      const [first, turned] = sites as [FakeSiteServer, FakeSiteServer];
      const saved = await state.saveKeyVersion(
        { stripe_publishable_key: makeKey('pk'), stripe_secret_key: makeKey('sk') },
        'test',
      );
      const run = await state.createRun({
        command: 'push',
        dry_run: false,
        actor: 'test',
        sites_source: null,
        keys: {},
        options: { desired: { default: saved.id, others: {} }, max_failures: '100%' },
        key_version_id: saved.id,
        sites: sites.map((s) => s.url),
      });
      const worker = new SiteJobWorker({
        state,
        client,
        masterKey: MASTER_KEY,
        concurrency: 4,
        log: { warn: () => undefined },
        onSettled: () => undefined,
        claimStaleMs: 60_000,
        claimRetryMs: 50,
        refreshMs: 100,
      });
      const job = (id: string, urls: string[]): SiteJob => ({
        id,
        data: { run_id: run.id, coordination: run.coordination as string, urls },
        signal: new AbortController().signal,
      });

      await worker.work(job('job-1', [first.url]));
      expect((await state.siteResults(run.id, { urls: [first.url] }))[0]?.status).toBe('ok');

      // Removed by an admin, then registered again under the same URL: pending.
      const old = (await state.fleet.listSites()).find((s) => s.url === turned.url);
      expect(await state.fleet.removeSite(old!.id)).toBe(true);
      await state.fleet.addSite({
        url: turned.url,
        name: 'stranger',
        tags: [],
        apiKey: 'stranger-key-0123456789',
        source: 'register',
        addedBy: 'registration',
        approval: 'pending',
      });

      await worker.work(job('job-2', [turned.url]));
      expect(turned.requests).toEqual([]);
      // Not left pending for ever: skipped, saying why.
      const [left] = await state.siteResults(run.id, { urls: [turned.url] });
      expect(left).toMatchObject({ status: 'skipped', error: { code: 'site_pending' } });
    });
  },
);
