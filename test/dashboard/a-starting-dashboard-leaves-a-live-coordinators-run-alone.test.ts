import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { anyStateBackend } from '../store/any-state-backend.js';
import { startHeldSite } from '../web/held-site.js';
import { DASHBOARD_BACKEND } from './dashboard-fixture.js';
import { spawnDashboard } from './spawn-dashboard.js';

type Dashboard = Awaited<ReturnType<typeof spawnDashboard>>;

/** Resolves when the dashboard prints `text` (or already has). */
function printed(d: Dashboard, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!d.output().includes(text)) return false;
      d.child.stdout?.off('data', check);
      d.child.stderr?.off('data', check);
      resolve();
      return true;
    };
    if (check()) return;
    d.child.stdout?.on('data', check);
    d.child.stderr?.on('data', check);
    void d.exited.then(() => reject(new Error(`the dashboard exited before printing "${text}"`)));
  });
}

/** Resolves once `check()` holds, asking every 200 ms. */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 200));
}

/**
 * A dashboard starting on a Postgres database where another dashboard coordinates a run (on another
 * machine, as far as the run's row says, so only its heartbeat can tell it is alive) leaves the run
 * running. Once that coordinator is killed, its heartbeat goes stale and the live dashboard marks the
 * run interrupted by itself; resumed there, it ends with every site once. Postgres only.
 */
describe.skipIf(DASHBOARD_BACKEND !== 'postgres')('a dashboard starting next to a live coordinator', () => {
  const db = anyStateBackend('postgres');
  const sites: FakeSiteServer[] = [];
  const running = new Set<Dashboard>();
  let held: Awaited<ReturnType<typeof startHeldSite>>;
  const env = {
    ...db.env,
    TEMPLATE_MASTER_API_KEY: MASTER_KEY,
    KEYFLEET_RETRIES: '0',
    KEYFLEET_VERIFY_INTERVAL_S: '0',
    KEYFLEET_HEARTBEAT_S: '1',
    KEYFLEET_COORDINATOR_STALE_S: '3',
    // Past by the time the run is resumed: the site the killed coordinator had claimed (held
    // mid-write) is then taken over by the resume's job; its old job, given out again, is dropped.
    KEYFLEET_JOB_EXPIRE_S: '8',
  };
  const start = async () => {
    const d = await spawnDashboard(env);
    running.add(d);
    return d;
  };

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) sites.push(await startFakeSite({ apiKey: MASTER_KEY, publishableKey: null }));
    held = await startHeldSite((sites[0] as FakeSiteServer).url);
  });
  afterAll(async () => {
    for (const d of running) d.child.kill('SIGKILL');
    await held.close();
    await Promise.all(sites.map((s) => s.close()));
    await db.cleanup();
  });

  it('does not mark the run interrupted while its coordinator beats', { timeout: 60_000 }, async () => {
    const b = await start();
    const urls = [held.url, ...sites.slice(1).map((s) => s.url)];
    expect((await b.api('/api/admin/sites/import', { content: urls.join('\n') })).status).toBe(200);
    const sk = makeKey('sk');
    expect((await b.api('/api/admin/keys', { make_default: true, publishable_key: makeKey('pk'), secret_key: sk })).status).toBe(
      201,
    );
    held.hold();
    const started = await b.api('/api/admin/runs', { canary: 0 });
    expect(started.status).toBe(202);
    const runId = started.body.run_id as string;
    await held.waitForHeld();
    // The run's row now says another machine owns it: only the heartbeat shows it alive.
    await db.sql('UPDATE runs SET owner_host = $1 WHERE id = $2', ['another-machine', runId]);

    const a = await start();
    const aStarted = Date.now();
    expect(a.output()).not.toContain('was interrupted');
    expect((await a.api(`/api/admin/runs/${runId}`)).body).toMatchObject({ state: 'running' });
    // Longer than the stale limit, A sweeping every second: the coordinator's beats keep its run.
    await until(async () => {
      const [row] = await db.sql<{ owner_heartbeat_at: string }>(
        'SELECT owner_heartbeat_at FROM runs WHERE id = $1',
        [runId],
      );
      return Date.parse(row?.owner_heartbeat_at ?? '') > aStarted + 3_500;
    });
    expect(a.output()).not.toContain('was interrupted');
    expect((await a.api(`/api/admin/runs/${runId}`)).body).toMatchObject({ state: 'running' });

    // The coordinator dies: its heartbeat goes stale, and the live dashboard's sweep takes the run.
    b.child.kill('SIGKILL');
    await b.exited;
    running.delete(b);
    await printed(a, `run ${runId} was interrupted`);
    expect((await a.api(`/api/admin/runs/${runId}`)).body).toMatchObject({
      state: 'interrupted',
      resumable: true,
    });

    held.release();
    expect((await a.api(`/api/admin/runs/${runId}/resume`, {})).status).toBe(202);
    const events = await a.events(runId);
    const end = events.at(-1)?.data as {
      state: string;
      summary: { total: number; ok: number; unchanged: number };
    };
    expect(end.state).toBe('done');
    expect(end.summary.total).toBe(3);
    expect(end.summary.ok + end.summary.unchanged).toBe(3);
    for (const s of sites) expect(s.state.settings.get('stripe_secret_key')).toBe(sk);
  });
});
