import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { refusedPort } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { startHeldSite } from '../web/held-site.js';
import { parseSse, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

type Fleet = Awaited<ReturnType<typeof startTemplateFleet>>;
type Held = Awaited<ReturnType<typeof startHeldSite>>;

const DEAD = 18;

/**
 * Issue 11 points 2–6 through the API: a preview checks every site whatever the failure budget, and
 * can be confirmed for the sites that passed only, with the real push's own budget (never the
 * preview's); failures come grouped by code, exportable as CSV and re-run per group; a run with
 * failures is never `completed`; a running push can be cancelled and resumed.
 */
describe('a preview checks every site; confirm, cancel and failure groups', () => {
  let fleet: Fleet;
  let held: Held;
  let d: TestDashboard;
  const deadUrls: string[] = [];
  const sk = makeKey('sk');

  const path = (route: string, id: string) => dashboardPath(route, { id });
  const toEnd = async (runId: string) => {
    const events = parseSse((await d.call({ url: path(DASHBOARD_ROUTES.runEvents, runId) })).body);
    return events.at(-1)?.data as { state: string; summary: Record<string, number> };
  };
  const detail = async (runId: string) => (await d.call({ url: path(DASHBOARD_ROUTES.run, runId) })).json();
  const start = async (body: unknown) => {
    const res = await d.call({ url: DASHBOARD_ROUTES.runs, body });
    expect(res.statusCode, res.body).toBe(202);
    return res.json().run_id as string;
  };

  beforeAll(async () => {
    fleet = await startTemplateFleet(2);
    held = await startHeldSite(fleet.urls[1]!);
    const port = await refusedPort();
    for (let i = 0; i < DEAD; i++) deadUrls.push(`http://127.0.0.${i + 2}:${port}`);
    d = await startTestDashboard({ env: { KEYFLEET_RETRIES: '0', KEYFLEET_VERIFY_INTERVAL_S: '0' } });
    for (const url of [fleet.urls[0]!, held.url, ...deadUrls])
      expect((await d.call({ url: DASHBOARD_ROUTES.sites, body: { url, tags: ['pilot'] } })).statusCode).toBe(201);
    await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: makeKey('pk'), secret_key: sk } });
  });
  afterAll(async () => {
    await d.close();
    await held.close();
    await fleet.close();
  });

  it('a preview with the default 10 % budget checks all 20 sites, and says so truthfully', async () => {
    const id = await start({ dry_run: true, tags: ['pilot'] });
    expect((await toEnd(id)).summary).toMatchObject({ total: 20, ok: 2, failed: DEAD, skipped: 0 });
    const run = await detail(id);
    expect(run).toMatchObject({ state: 'done', confirmable: true, outcome: 'preview_with_failures' });
    expect(run.selection).toEqual({ tags: ['pilot'], sites: 0, drifted_only: false, problem: null, q: null });
    expect(run.failure_groups).toEqual([
      expect.objectContaining({ code: 'connection_refused', count: DEAD, sample: deadUrls.slice(0, 5) }),
    ]);
    expect(JSON.stringify(run)).not.toContain('--max-failures');
    expect((await d.call({ url: path(DASHBOARD_ROUTES.runFailures, id) })).json().groups).toEqual(run.failure_groups);
  });

  it('confirms for the sites that passed only, with the default budget, not the preview one', async () => {
    const preview = await start({ dry_run: true, max_failures: '100%' });
    await toEnd(preview);
    const res = await d.call({ url: path(DASHBOARD_ROUTES.confirmRun, preview), body: { only_passed: true } });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ sites: 2, dry_run: false });
    const push = res.json().run_id as string;
    expect(await toEnd(push)).toMatchObject({ state: 'done', summary: { total: 2, ok: 2, failed: 0 } });
    const run = await detail(push);
    expect(run).toMatchObject({ outcome: 'completed', max_failures: '10%', failure_groups: [] });
    expect((await fleet.keysOf(0)).stripe_secret_key.fingerprint).toBeTruthy();
  });

  it('a push with failures is "completed_with_failures" or halted, never "completed"; CSV and re-run per code', async () => {
    const id = await start({ canary: 0, max_failures: '100%' });
    expect(await toEnd(id)).toMatchObject({ state: 'done', summary: { total: 20, failed: DEAD } });
    const listed = (await d.call({ url: DASHBOARD_ROUTES.runs })).json().runs.find((r: { id: string }) => r.id === id);
    expect(listed.outcome).toBe('completed_with_failures');

    const csv = await d.call({ url: `${path(DASHBOARD_ROUTES.runExport, id)}?code=connection_refused` });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('url,name,status,code,message,hint,attempts,duration_ms');
    expect(lines).toHaveLength(DEAD + 1);
    expect(lines.slice(1).every((l) => l.includes(',failed,connection_refused,'))).toBe(true);
    expect(csv.body).not.toContain(sk);

    const retry = await d.call({ url: path(DASHBOARD_ROUTES.retryFailed, id), body: { code: 'connection_refused' } });
    expect(retry.statusCode, retry.body).toBe(202);
    expect(retry.json().sites).toBe(DEAD);
    await toEnd(retry.json().run_id);
    const none = await d.call({ url: path(DASHBOARD_ROUTES.retryFailed, id), body: { code: 'timeout' } });
    expect(none.statusCode).toBe(400);
    expect(none.json().message).toContain('no site that failed with timeout');

    const halted = await start({ canary: 0 });
    expect((await toEnd(halted)).state).toBe('halted');
    expect((await detail(halted)).outcome).toBe('halted');
  });

  it('cancels a running push: the site in flight finishes, the rest stay pending, and it resumes', async () => {
    await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, secret_key: makeKey('sk') } });
    held.hold();
    // Canaries go one by one in fleet order: the first site, then the held one, whose write waits
    // while the test cancels the run; the third site never starts.
    const id = await start({ sites: [fleet.urls[0]!, held.url, deadUrls[0]!], canary: 2 });
    await held.waitForHeld();
    const res = await d.call({ url: path(DASHBOARD_ROUTES.cancelRun, id), body: {} });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().message).toMatch(/^Cancelling: no new site starts; sites already being pushed finish/);
    // The site in flight finishes once its write goes through; the other never starts.
    held.release();
    expect(await toEnd(id)).toMatchObject({ state: 'cancelled', summary: { total: 3, ok: 2, failed: 0, skipped: 0 } });
    const run = await detail(id);
    expect(run).toMatchObject({ outcome: 'cancelled', resumable: true, cancellable: false });
    expect(run.sites.map((x: { status: string }) => x.status)).toEqual(['ok', 'ok', 'pending']);

    const again = await d.call({ url: path(DASHBOARD_ROUTES.cancelRun, id), body: {} });
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toContain('only a running run can be cancelled');

    expect((await d.call({ url: path(DASHBOARD_ROUTES.resumeRun, id), body: {} })).statusCode).toBe(202);
    expect(await toEnd(id)).toMatchObject({ state: 'done', summary: { total: 3, ok: 2, failed: 1 } });
  });
});
