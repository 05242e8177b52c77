import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { refusedPort } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

type Fleet = Awaited<ReturnType<typeof startTemplateFleet>>;
const DEAD = 60;

/**
 * Issue 11 point 8: bulk actions on "all N matching" a filter, beyond the 50 rows of a page — export,
 * tag, doctor and remove — as server-side jobs whose progress can be read; a fleet that changed
 * since the operator looked is refused.
 */
describe('bulk actions work on every site matching a filter', () => {
  let fleet: Fleet;
  let d: TestDashboard;
  let sk: string;

  const job = async (body: object) => {
    const res = await d.call({ url: DASHBOARD_ROUTES.bulkSites, body });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().job.id as string;
    // The job's counts are read as it goes; it ends by itself (bounded: every step is local or one site).
    for (;;) {
      const now = (await d.call({ url: dashboardPath(DASHBOARD_ROUTES.bulkJob, { id }) })).json().job;
      expect(now.done).toBeLessThanOrEqual(now.total);
      if (now.state === 'done') return now;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  beforeAll(async () => {
    fleet = await startTemplateFleet(2);
    const port = await refusedPort();
    d = await startTestDashboard({ env: { KEYFLEET_RETRIES: '0', KEYFLEET_VERIFY_INTERVAL_S: '0' } });
    const dead = Array.from({ length: DEAD }, (_, i) => `http://127.0.0.${i + 2}:${port}`);
    await d.call({ url: DASHBOARD_ROUTES.importSites, body: { format: 'seed', content: [...fleet.urls, ...dead].join('\n') } });
    sk = makeKey('sk');
    await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: makeKey('pk'), secret_key: sk } });
    await d.call({ url: DASHBOARD_ROUTES.verify, body: { wait: true } });
  });
  afterAll(async () => {
    await d.close();
    await fleet.close();
  });

  it('exports every matching site as CSV, not one page', async () => {
    const res = await d.call({ url: `${DASHBOARD_ROUTES.exportSites}?problem=unreachable` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.body.trim().split('\n');
    expect(lines[0]).toBe('id,name,url,tags,desired_version,drift,reachable,problem,checked_at');
    expect(lines).toHaveLength(DEAD + 1);
    expect(lines.slice(1).every((l) => l.includes(',false,connection_refused,'))).toBe(true);
    expect(res.body).not.toContain(sk);
  });

  it('tags all 60 unreachable sites in one job, and refuses when the count seen is stale', async () => {
    const stale = await d.call({ url: DASHBOARD_ROUTES.bulkSites, body: { action: 'add_tags', tags: ['dead'], problem: 'unreachable', expected: 50 } });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().message).toBe('60 sites match now, not 50 as expected: the fleet changed. Look at the list again, then retry.');
    const done = await job({ action: 'add_tags', tags: ['dead'], problem: 'unreachable', expected: DEAD });
    expect(done).toMatchObject({ action: 'add_tags', state: 'done', total: DEAD, done: DEAD, failed: 0, outcomes: { tagged: DEAD } });
    const tagged = (await d.call({ url: `${DASHBOARD_ROUTES.sites}?tag=dead&limit=1` })).json();
    expect(tagged.total).toBe(DEAD);
  });

  it('previews a push to every site matching a status filter (the bulk bar\'s "Preview a push")', async () => {
    const res = await d.call({ url: DASHBOARD_ROUTES.runs, body: { dry_run: true, problem: 'unreachable' } });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().sites).toBe(DEAD);
    const run = (await d.call({ url: dashboardPath(DASHBOARD_ROUTES.run, { id: res.json().run_id }) })).json();
    expect(run.selection).toMatchObject({ problem: 'unreachable', q: null });
    const none = await d.call({ url: DASHBOARD_ROUTES.runs, body: { dry_run: true, problem: 'none', q: 'no-such-site' } });
    expect(none.statusCode).toBe(400);
    expect(none.json().error).toBe('no_sites_selected');
  });

  it('runs the doctor on the matching sites and counts the diagnoses', async () => {
    const done = await job({ action: 'doctor', sites: fleet.urls, expected: 2 });
    expect(done).toMatchObject({ total: 2, done: 2, failed: 0 });
    expect(Object.values(done.outcomes as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('removes all 60 dead sites in one job; the audit log says so once', async () => {
    const done = await job({ action: 'remove', tag: ['dead'], expected: DEAD });
    expect(done).toMatchObject({ total: DEAD, done: DEAD, outcomes: { removed: DEAD } });
    const left = (await d.call({ url: `${DASHBOARD_ROUTES.sites}?limit=1&summary=true` })).json();
    expect(left.total).toBe(2);
    const audit = (await d.call({ url: DASHBOARD_ROUTES.audit })).json().entries as Array<{ action: string; detail: Record<string, unknown> }>;
    expect(audit.filter((e) => e.action === 'sites.bulk_remove').map((e) => e.detail.sites)).toEqual([DEAD]);
  });
});
