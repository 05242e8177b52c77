import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { anyStateBackend } from '../store/any-state-backend.js';
import { DASHBOARD_BACKEND } from './dashboard-fixture.js';
import { spawnDashboard } from './spawn-dashboard.js';

const SITES = 16;

type Dashboard = Awaited<ReturnType<typeof spawnDashboard>>;

/**
 * Regression: a dashboard that did not start a shared run (B, where a load balancer may send the
 * operator's browser) answered the run's events by replaying what was stored and ending at once,
 * although the run was still running. Now B follows it live: each site once as it ends, and `end`
 * (state done) only once the run is finished. Postgres only.
 */
describe.skipIf(DASHBOARD_BACKEND !== 'postgres')('a dashboard that does not coordinate a run', () => {
  const db = anyStateBackend('postgres');
  const sites: FakeSiteServer[] = [];
  const running = new Set<Dashboard>();
  const env = {
    ...db.env,
    TEMPLATE_MASTER_API_KEY: MASTER_KEY,
    KEYFLEET_RETRIES: '0',
    KEYFLEET_VERIFY_INTERVAL_S: '0',
    KEYFLEET_JOB_SITES: '2',
    KEYFLEET_WORKER_CONCURRENCY: '1',
  };

  beforeAll(async () => {
    // Slow sites: the run lasts a few seconds, long enough to be watched while it runs.
    for (let i = 0; i < SITES; i++)
      sites.push(
        await startFakeSite({ apiKey: MASTER_KEY, publishableKey: null, delayMs: 120 + (i % 3) * 60 }),
      );
  });
  afterAll(async () => {
    for (const d of running) d.child.kill('SIGKILL');
    await Promise.all(sites.map((s) => s.close()));
    await db.cleanup();
  });

  it(
    'streams every site once while the run goes on, and ends only after it finished',
    { timeout: 90_000 },
    async () => {
      const a = await spawnDashboard(env);
      running.add(a);
      const b = await spawnDashboard(env);
      running.add(b);
      expect(
        (await a.api('/api/admin/sites/import', { content: sites.map((s) => s.url).join('\n') })).status,
      ).toBe(200);
      expect(
        (await a.api('/api/admin/keys', { make_default: true, publishable_key: makeKey('pk'), secret_key: makeKey('sk') }))
          .status,
      ).toBe(201);
      const started = await a.api('/api/admin/runs', { canary: 1, max_failures: '0' });
      expect(started.status).toBe(202);
      const runId = started.body.run_id as string;

      // B's view of the run says it is live, so the web view follows its events.
      expect((await b.api(`/api/admin/runs/${runId}`)).body).toMatchObject({
        state: 'running',
        active: true,
      });

      const at = new Map<string, number>();
      const [fromB, fromA] = await Promise.all([
        b.events(runId, (event, data) => {
          if (event === 'site') at.set((data as { url: string }).url, Date.now());
          if (event === 'end') at.set('end', Date.now());
        }),
        a.events(runId),
      ]);

      const run = (await b.api(`/api/admin/runs/${runId}`)).body as { state: string; finished_at: string };
      expect(run.state).toBe('done');
      const finishedAt = Date.parse(run.finished_at);

      const urls = fromB.filter((e) => e.event === 'site').map((e) => (e.data as { url: string }).url);
      expect(urls).toHaveLength(SITES);
      expect(new Set(urls)).toEqual(new Set(sites.map((s) => s.url)));
      const end = fromB.at(-1);
      expect(end?.event).toBe('end');
      expect(end?.data).toMatchObject({ state: 'done', summary: { total: SITES, ok: SITES } });
      // Live: most sites reached B before the run finished, and the end only after it had.
      const early = [...at].filter(([k, t]) => k !== 'end' && t < finishedAt).length;
      expect(early).toBeGreaterThanOrEqual(SITES / 2);
      expect(at.get('end')).toBeGreaterThanOrEqual(finishedAt);
      // The coordinator streamed the same sites.
      const fromAUrls = fromA.filter((e) => e.event === 'site').map((e) => (e.data as { url: string }).url);
      expect(new Set(fromAUrls)).toEqual(new Set(urls));

      // A stream opened on B once the run is over replays it and ends at once, as before.
      const again = await b.events(runId);
      expect(again.filter((e) => e.event === 'site')).toHaveLength(SITES);
      expect(again.at(-1)?.event).toBe('end');
    },
  );
});
