import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSiteClient, type SiteClient } from '../../src/engine/site-client.js';
import type { StateStore } from '../../src/store/state-store.js';
import type { FakeSiteServer } from '../fault-fleet/index.js';
import { anyStateBackend } from '../store/any-state-backend.js';
import { DASHBOARD_BACKEND } from './dashboard-fixture.js';
import { addFakeSites, createPushRun, siteJob, siteJobWorker } from './site-job-fixture.js';

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
      await addFakeSites(state, sites, 2, 'shop');
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
      const run = await createPushRun(
        state,
        sites.map((s) => s.url),
      );
      const worker = siteJobWorker(state, client);
      const job = (id: string, urls: string[]) => siteJob(run, id, urls);

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
