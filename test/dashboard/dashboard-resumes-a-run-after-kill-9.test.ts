import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { anyStateBackend } from '../store/any-state-backend.js';
import { DASHBOARD_BACKEND } from './dashboard-fixture.js';
import { spawnDashboard } from './spawn-dashboard.js';

const SITES = 24;

/**
 * kill -9 of `keyfleet dashboard` in the middle of a run over a slow fleet, then a restart: the run
 * shows as interrupted, one call resumes it, and every site ends with exactly one final result.
 */
describe('a dashboard run after the dashboard was killed', () => {
  const sites: FakeSiteServer[] = [];
  const db = anyStateBackend(DASHBOARD_BACKEND);
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const env = { ...db.env, TEMPLATE_MASTER_API_KEY: MASTER_KEY, KEYFLEET_RETRIES: '0' };
  let dashboard: Awaited<ReturnType<typeof spawnDashboard>> | undefined;

  beforeAll(async () => {
    for (let i = 0; i < SITES; i++)
      sites.push(await startFakeSite({ apiKey: MASTER_KEY, publishableKey: null, delayMs: 60 }));
  });
  afterAll(async () => {
    dashboard?.child.kill('SIGKILL');
    await Promise.all(sites.map((s) => s.close()));
    await db.cleanup();
  });

  it('resumes with no site lost or counted twice', { timeout: 60_000 }, async () => {
    const first = await spawnDashboard(env, ['--concurrency', '2']);
    dashboard = first;
    const imported = await first.api('/api/admin/sites/import', {
      content: sites.map((s) => s.url).join('\n'),
    });
    expect((imported.body.added as unknown[]).length).toBe(SITES);
    expect((await first.api('/api/admin/keys', { make_default: true, publishable_key: pk, secret_key: sk })).status).toBe(201);
    const started = await first.api('/api/admin/runs', { canary: 0 });
    expect(started.status).toBe(202);
    const runId = started.body.run_id as string;

    // Kill once a few sites are done and others are in flight.
    let done = 0;
    await first.events(runId, (event) => {
      if (event === 'site' && ++done === 4) first.child.kill('SIGKILL');
    });
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(done).toBeGreaterThanOrEqual(4);
    expect(done).toBeLessThan(SITES);

    const second = await spawnDashboard(env);
    dashboard = second;
    expect(second.output()).toContain(`run ${runId} was interrupted`);
    const interrupted = (await second.api(`/api/admin/runs/${runId}`)).body;
    expect(interrupted).toMatchObject({ state: 'interrupted', resumable: true, active: false });
    const before = interrupted.summary as { ok: number; total: number };
    expect(before.ok).toBeGreaterThanOrEqual(done);
    expect(before.ok).toBeLessThan(SITES); // some sites were still pending when it died
    expect(before.total).toBe(SITES);

    const resumed = await second.api(`/api/admin/runs/${runId}/resume`, {});
    expect(resumed).toMatchObject({ status: 202, body: { run_id: runId } });
    const end = (await second.events(runId)).at(-1);
    expect(end?.event).toBe('end');
    const report = end?.data as {
      run_id: string;
      state: string;
      summary: { total: number; ok: number; unchanged: number };
      sites: Array<{ url: string; status: string }>;
    };
    expect(report.run_id).toBe(runId);
    expect(report.state).toBe('done');
    expect(report.sites).toHaveLength(SITES);
    expect(new Set(report.sites.map((s) => s.url)).size).toBe(SITES);
    expect(report.summary.total).toBe(SITES);
    expect(report.summary.ok + report.summary.unchanged).toBe(SITES);
    for (const s of sites) expect(s.state.settings.get('stripe_secret_key')).toBe(sk);

    // A finished run cannot be resumed again.
    expect((await second.api(`/api/admin/runs/${runId}/resume`, {})).status).toBe(409);
    expect(await second.stop()).toEqual({ code: 0, signal: null });
    expect(second.output()).not.toContain(sk);
  });
});
