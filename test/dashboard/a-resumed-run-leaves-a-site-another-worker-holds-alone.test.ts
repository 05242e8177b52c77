import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StateStore } from '../../src/store/state-store.js';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { anyStateBackend } from '../store/any-state-backend.js';
import { DASHBOARD_BACKEND } from './dashboard-fixture.js';
import { spawnDashboard } from './spawn-dashboard.js';

const EXPIRE_S = 2;

/**
 * A shared run resumed while a worker of its previous coordination (on another machine) still holds
 * one of its sites: the resuming dashboard does not take that site as its canary, and the resume's
 * jobs work it only once the claim has gone stale (the job expiry), so the site is written once.
 * Postgres only.
 */
describe.skipIf(DASHBOARD_BACKEND !== 'postgres')('a resumed shared run and a held site', () => {
  const db = anyStateBackend('postgres');
  const sites: FakeSiteServer[] = [];
  let state: StateStore;
  let dashboard: Awaited<ReturnType<typeof spawnDashboard>> | undefined;

  beforeAll(async () => {
    state = await db.open();
    for (let i = 0; i < 3; i++) {
      const site = await startFakeSite({ apiKey: MASTER_KEY, publishableKey: null, delayMs: 20 });
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
    dashboard?.child.kill('SIGKILL');
    await Promise.all(sites.map((s) => s.close()));
    await state.close();
    await db.cleanup();
  });

  it(
    'does not take the held site as its canary, and works it once, after the claim is stale',
    { timeout: 60_000 },
    async () => {
      const saved = await state.saveKeyVersion(
        { stripe_publishable_key: makeKey('pk'), stripe_secret_key: makeKey('sk') },
        'test',
      );
      const run = await state.createRun({
        command: 'push',
        dry_run: false,
        actor: 'test',
        sites_source: null,
        keys: saved.keys,
        options: {
          origin: 'dashboard',
          trigger: 'admin',
          canary: 1,
          max_failures: '10%',
          desired: { default: saved.id, others: {} },
        },
        key_version_id: saved.id,
        sites: sites.map((s) => s.url),
      });
      const [held, canary] = sites as [FakeSiteServer, FakeSiteServer, FakeSiteServer];
      // A worker on another machine took the first site, then the run was interrupted.
      const claim = {
        coordination: run.coordination as string,
        claimant: 'another-machine 4242 job',
        staleAfterMs: 60_000,
      };
      expect(await state.claimSite(run.id, held.url, claim)).toBe(true);
      await state.finishRun(run.id, 'interrupted');
      // That worker is alive and keeps its claim fresh until the other two sites have ended (however
      // slow a loaded machine makes the dashboard's start and canary): only then does it go quiet, and
      // its claim goes stale EXPIRE_S later. The resume must wait that long for the held site.
      let claimedAt = Date.now();
      const refresh = async () => {
        const at = Date.now();
        claimedAt = at;
        await db.sql(
          'UPDATE run_sites SET claimed_at = $1 WHERE run_id = $2 AND url = $3 AND claimed_by = $4',
          [new Date(at).toISOString(), run.id, held.url, claim.claimant],
        );
      };
      let refreshing: Promise<void> = refresh();
      const refresher = setInterval(() => {
        refreshing = refreshing.then(refresh, refresh);
      }, 250);

      dashboard = await spawnDashboard({
        ...db.env,
        TEMPLATE_MASTER_API_KEY: MASTER_KEY,
        KEYFLEET_RETRIES: '0',
        KEYFLEET_VERIFY_INTERVAL_S: '0',
        KEYFLEET_JOB_EXPIRE_S: String(EXPIRE_S),
      });
      expect((await dashboard.api(`/api/admin/runs/${run.id}/resume`, {})).status).toBe(202);
      const order: string[] = [];
      let heldRequestsAtCanary = -1;
      const events = await dashboard
        .events(run.id, (event, data) => {
          if (event !== 'site') return;
          const url = (data as { url: string }).url;
          if (order.length === 0) heldRequestsAtCanary = held.requests.length;
          order.push(url);
          if (order.filter((u) => u !== held.url).length === 2) clearInterval(refresher);
        })
        .finally(() => clearInterval(refresher));
      await refreshing;
      expect(events.at(-1)?.data).toMatchObject({ state: 'done', summary: { total: 3, ok: 3 } });
      // The canary was the next site, and the held one had not been touched meanwhile.
      expect(order[0]).toBe(canary.url);
      expect(heldRequestsAtCanary).toBe(0);
      expect(order.at(-1)).toBe(held.url);
      expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(EXPIRE_S * 1000);
      for (const s of sites)
        expect(
          s.requests.filter((r) => r.method === 'PUT' && r.url.endsWith('/stripe_secret_key')),
        ).toHaveLength(1);
    },
  );
});
