import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { anyStateBackend } from '../store/any-state-backend.js';
import { DASHBOARD_BACKEND } from './dashboard-fixture.js';
import { spawnDashboard } from './spawn-dashboard.js';

const SITES = 40;
/** Each dashboard opens sites with its own master key, so a site's requests say which dashboard sent them. */
const KEY_A = MASTER_KEY;
const KEY_B = `${MASTER_KEY}-second-dashboard`;

type Dashboard = Awaited<ReturnType<typeof spawnDashboard>>;
interface Report {
  state: string;
  summary: { total: number; ok: number; failed: number; skipped: number; unchanged: number };
  sites: Array<{ url: string; status: string }>;
}

/**
 * Two `keyfleet dashboard` processes on one Postgres database share a run's sites through the pg-boss
 * queue (DESIGN §3): the one where the run starts (A) coordinates it and streams every site, whoever
 * worked it; a worker killed with -9 mid-job has its job given to the other after the job's expiry,
 * and no site ends with two results. Postgres only: on SQLite one process runs everything.
 */
describe.skipIf(DASHBOARD_BACKEND !== 'postgres')('dashboards sharing a run on Postgres', () => {
  const db = anyStateBackend('postgres');
  const sites: FakeSiteServer[] = [];
  const running = new Set<Dashboard>();
  let coordinator: Dashboard;
  let worker: Dashboard;
  const env = {
    ...db.env,
    KEYFLEET_RETRIES: '0',
    KEYFLEET_VERIFY_INTERVAL_S: '0',
    // Small jobs, one at a time per dashboard, so that both get some; a short expiry for the kill.
    KEYFLEET_JOB_SITES: '4',
    KEYFLEET_WORKER_CONCURRENCY: '1',
    KEYFLEET_JOB_EXPIRE_S: '3',
  };
  const start = async (masterKey: string) => {
    const d = await spawnDashboard({ ...env, TEMPLATE_MASTER_API_KEY: masterKey });
    running.add(d);
    return d;
  };
  /** Who sent each of a site's writes of the secret key. */
  const writers = (site: FakeSiteServer, from = 0) =>
    site.requests
      .slice(from)
      .filter((r) => r.method === 'PUT' && r.url.endsWith('/stripe_secret_key'))
      .map((r) => (r.headers['x-api-key'] === KEY_B ? 'B' : 'A'));

  beforeAll(async () => {
    for (let i = 0; i < SITES; i++) {
      // Staggered speeds: the sites of one job end one after the other, not all at once.
      const site = await startFakeSite({ apiKey: KEY_A, publishableKey: null, delayMs: 40 + (i % 4) * 70 });
      site.state.apiKeys.add(KEY_B);
      sites.push(site);
    }
  });
  afterAll(async () => {
    for (const d of running) d.child.kill('SIGKILL');
    await Promise.all(sites.map((s) => s.close()));
    await db.cleanup();
  });

  async function startRun(a: Dashboard, sk: string): Promise<string> {
    expect((await a.api('/api/admin/keys', { make_default: true, publishable_key: makeKey('pk'), secret_key: sk })).status).toBe(
      201,
    );
    const started = await a.api('/api/admin/runs', { canary: 1, max_failures: '0' });
    expect(started.status).toBe(202);
    return started.body.run_id as string;
  }

  function expectEachSiteOnce(events: Array<{ event: string; data: unknown }>, report: Report) {
    const urls = events.filter((e) => e.event === 'site').map((e) => (e.data as { url: string }).url);
    expect(urls).toHaveLength(SITES);
    expect(new Set(urls)).toEqual(new Set(sites.map((s) => s.url)));
    expect(report.state).toBe('done');
    expect(report.summary.total).toBe(SITES);
    expect(report.summary.ok + report.summary.unchanged).toBe(SITES);
    expect(report.sites).toHaveLength(SITES);
  }

  it(
    'works the sites on both dashboards, each site once, and streams them all from the coordinator',
    { timeout: 90_000 },
    async () => {
      const a = (coordinator = await start(KEY_A));
      const b = (worker = await start(KEY_B));
      const imported = await a.api('/api/admin/sites/import', {
        content: sites.map((s) => s.url).join('\n'),
      });
      expect((imported.body.added as unknown[]).length).toBe(SITES);
      const sk = makeKey('sk');
      const runId = await startRun(a, sk);

      const events = await a.events(runId);
      const end = events.at(-1);
      expect(end?.event).toBe('end');
      expectEachSiteOnce(events, end?.data as Report);
      expect((end?.data as Report).summary.ok).toBe(SITES);

      // Both dashboards worked sites; each site was written exactly once, and holds the key.
      const by = sites.map((s) => writers(s));
      for (const w of by) expect(w).toHaveLength(1);
      const counts = { A: by.filter((w) => w[0] === 'A').length, B: by.filter((w) => w[0] === 'B').length };
      expect(counts.A).toBeGreaterThan(0);
      expect(counts.B).toBeGreaterThan(0);
      for (const s of sites) expect(s.state.settings.get('stripe_secret_key')).toBe(sk);

      // The run as either dashboard reads it from the store.
      for (const d of [a, b]) {
        const run = (await d.api(`/api/admin/runs/${runId}`)).body as unknown as Report;
        expect(run.state).toBe('done');
        expect(run.summary).toMatchObject({ total: SITES, ok: SITES, failed: 0, skipped: 0 });
      }
      expect(b.output()).not.toContain(sk);
      expect(a.output()).not.toContain(sk);
      // The jobs (in pg-boss's schema, dumped too) carry the run id and URLs, never a key.
      const stored = await db.dump();
      expect(stored).toContain('run_id');
      expect(stored).not.toContain(sk);
    },
  );

  it(
    "gives a killed worker's job to the other dashboard after its expiry, with no site counted twice",
    { timeout: 90_000 },
    async () => {
      const marks = sites.map((s) => s.requests.length);
      const sk = makeKey('sk');
      const runId = await startRun(coordinator, sk);

      // Killed as soon as one of its sites has ended: the rest of its job is still in flight.
      let killedAt: number[] | undefined;
      let finishedByB = -1;
      const events = await coordinator.events(runId, (event, data) => {
        if (event !== 'site' || killedAt) return;
        const i = sites.findIndex((s) => s.url === (data as { url: string }).url);
        if (writers(sites[i] as FakeSiteServer, marks[i]).includes('B')) {
          worker.child.kill('SIGKILL');
          killedAt = sites.map((s) => s.requests.length);
          finishedByB = i;
        }
      });
      expect(killedAt).toBeDefined();
      expect((await worker.exited).signal).toBe('SIGKILL');
      running.delete(worker);

      const end = events.at(-1);
      expect(end?.event).toBe('end');
      expectEachSiteOnce(events, end?.data as Report);
      for (const s of sites) expect(s.state.settings.get('stripe_secret_key')).toBe(sk);
      // Some site the killed dashboard had started was finished by the coordinator after the kill.
      const taken = sites.filter(
        (s, i) =>
          s.requests.slice(marks[i], killedAt?.[i]).some((r) => r.headers['x-api-key'] === KEY_B) &&
          s.requests.slice(killedAt?.[i]).some((r) => r.headers['x-api-key'] === KEY_A),
      );
      expect(taken.length).toBeGreaterThan(0);
      // The site the killed dashboard had finished was skipped by the job's second worker: not touched again.
      expect(sites[finishedByB]?.requests.slice(killedAt?.[finishedByB])).toEqual([]);
      expect(coordinator.output()).toContain('run sites queued for every dashboard');
    },
  );

  it(
    'halts the run fleet-wide once its failures cross the budget, the sites not started skipped',
    { timeout: 90_000 },
    async () => {
      worker = await start(KEY_B);
      // The first 8 sites refuse both keys: the first job alone crosses a budget of 2.
      for (const s of sites.slice(0, 8)) s.state.apiKeys.clear();
      try {
        expect(
          (
            await coordinator.api('/api/admin/keys', {
              make_default: true,
              publishable_key: makeKey('pk'),
              secret_key: makeKey('sk'),
            })
          ).status,
        ).toBe(201);
        const started = await coordinator.api('/api/admin/runs', { canary: 0, max_failures: '2' });
        expect(started.status).toBe(202);
        const runId = started.body.run_id as string;
        const events = await coordinator.events(runId);
        const report = events.at(-1)?.data as Report & { reason: string | null };
        expect(report.state).toBe('halted');
        // The console names the failure budget, never the CLI flag (issue 11).
        expect(report.reason).toMatch(/more than the failure budget allows \(2\)/);
        expect(report.summary.failed).toBeGreaterThanOrEqual(3);
        expect(report.summary.skipped).toBeGreaterThan(0);
        const { ok, failed, skipped, unchanged, total } = report.summary;
        expect(ok + failed + skipped + unchanged).toBe(total);
        expect(total).toBe(SITES);
        const urls = events.filter((e) => e.event === 'site').map((e) => (e.data as { url: string }).url);
        expect(urls).toHaveLength(SITES);
        expect(new Set(urls).size).toBe(SITES);
      } finally {
        for (const s of sites.slice(0, 8)) s.state.apiKeys.add(KEY_A).add(KEY_B);
      }
    },
  );
});
