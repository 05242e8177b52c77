import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { refusedPort } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { parseSse, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

type Fleet = Awaited<ReturnType<typeof startTemplateFleet>>;

/** A run from the dashboard over real template sites: preview, confirm, watch, retry the failed. */
describe('a push started from the dashboard', () => {
  let fleet: Fleet;
  let d: TestDashboard;
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const ids: string[] = [];
  let deadUrl = '';

  const events = async (runId: string, headers: Record<string, string> = {}) => {
    const res = await d.call({ url: dashboardPath(DASHBOARD_ROUTES.runEvents, { id: runId }), headers });
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    return parseSse(res.body);
  };
  const run = async (runId: string) =>
    (await d.call({ url: dashboardPath(DASHBOARD_ROUTES.run, { id: runId }) })).json();

  beforeAll(async () => {
    fleet = await startTemplateFleet(3);
    d = await startTestDashboard({ env: { KEYFLEET_RETRIES: '0' } });
    const tags = [['eu'], ['eu'], ['us']];
    for (const [i, url] of fleet.urls.entries()) {
      const res = await d.call({
        url: DASHBOARD_ROUTES.sites,
        body: { url, name: `site${i}`, tags: tags[i] },
      });
      expect(res.statusCode).toBe(201);
      ids.push(res.json().site.id);
    }
    deadUrl = `http://127.0.0.1:${await refusedPort()}`;
    const keys = await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: pk, secret_key: sk } });
    expect(keys.statusCode).toBe(201);
  });
  afterAll(async () => {
    await d.close();
    await fleet.close();
  });

  it('previews a dry run per site, masked, and writes nothing', async () => {
    const start = await d.call({ url: DASHBOARD_ROUTES.runs, body: { dry_run: true } });
    expect(start.statusCode).toBe(202);
    const { run_id: previewId } = start.json();
    const stream = await events(previewId);
    expect(stream.map((e) => e.event)).toEqual(['phase', 'site', 'site', 'site', 'end']);
    expect(stream.map((e) => e.id)).toEqual([1, 2, 3, 4, 5]);
    const report = await run(previewId);
    expect(report).toMatchObject({
      run_id: previewId,
      dry_run: true,
      state: 'done',
      confirmable: true,
      resumable: false,
      trigger: 'admin',
    });
    expect(report.keys.secret_key).toEqual({ last4: sk.slice(-4), fingerprint: fingerprint(sk) });
    for (const s of report.sites) expect(s.changes).toEqual(['stripe_secret_key', 'stripe_publishable_key']);
    // What each site holds now (the preview's "from"): nothing yet on these fresh sites.
    expect(report.sites[0].before).toMatchObject({
      publishable_key: null,
      fingerprints: { stripe_secret_key: null },
    });
    expect(await fleet.pkOf(0)).toBeNull();
    const sites = (await d.call({ url: `${DASHBOARD_ROUTES.sites}?problem=drift` })).json().sites;
    expect(sites).toHaveLength(3);
  });

  it('confirms the preview: the same sites get the keys, verified, and show in sync', async () => {
    const previewId = (await d.call({ url: DASHBOARD_ROUTES.runs })).json().runs[0].id;
    const confirm = await d.call({
      method: 'POST',
      url: dashboardPath(DASHBOARD_ROUTES.confirmRun, { id: previewId }),
    });
    expect(confirm.statusCode, confirm.body).toBe(202);
    const runId = confirm.json().run_id;
    const stream = await events(runId);
    const end = stream.at(-1);
    expect(end?.event).toBe('end');
    expect(end?.data).toMatchObject({
      run_id: runId,
      state: 'done',
      dry_run: false,
      summary: { total: 3, ok: 3, failed: 0 },
    });
    // The canary first (preflighted, written, verified), then the rest, each site start to finish.
    expect(stream.filter((e) => e.event === 'phase').map((e) => (e.data as { phase: string }).phase)).toEqual(
      ['canary', 'push'],
    );
    for (let i = 0; i < 3; i++) {
      expect(await fleet.pkOf(i)).toBe(pk);
      expect((await fleet.keysOf(i)).stripe_secret_key.fingerprint).toBe(fingerprint(sk));
    }
    expect(await run(runId)).toMatchObject({ trigger: 'confirm', of: previewId, confirmable: false });
    const sites = (await d.call({ url: DASHBOARD_ROUTES.sites })).json().sites;
    for (const s of sites) {
      expect(s).toMatchObject({
        drift: 'in_sync',
        health: { reachable: true, pk_as_desired: true, sk_as_desired: true, mode: 'test', problem: null },
      });
    }
    // A confirmed preview cannot be confirmed from a real run.
    expect(
      (await d.call({ method: 'POST', url: dashboardPath(DASHBOARD_ROUTES.confirmRun, { id: runId }) }))
        .statusCode,
    ).toBe(409);
  });

  it('replays what already happened to a late subscriber, and only what it missed after Last-Event-ID', async () => {
    const runId = (await d.call({ url: DASHBOARD_ROUTES.runs })).json().runs[0].id;
    const all = await events(runId);
    expect(all.length).toBeGreaterThan(3);
    const missed = await events(runId, { 'last-event-id': String(all.length - 1) });
    expect(missed).toEqual([all.at(-1)]);
  });

  it('pushes to chosen sites or tags, and retries only the failed ones', async () => {
    const dead = (
      await d.call({ url: DASHBOARD_ROUTES.sites, body: { url: deadUrl, name: 'dead', tags: ['us'] } })
    ).json().site;
    const start = await d.call({
      url: DASHBOARD_ROUTES.runs,
      body: { tags: ['us'], sites: ['site0'], canary: 0 },
    });
    expect(start.json()).toMatchObject({ sites: 3 });
    const end = (await events(start.json().run_id)).at(-1)?.data as {
      summary: Record<string, number>;
      sites: Array<{ url: string; status: string; error: { code: string } | null }>;
    };
    expect(end.summary).toMatchObject({ total: 3, failed: 1, unchanged: 2 });
    expect(end.sites.find((s) => s.url === deadUrl)?.error?.code).toBe('connection_refused');
    const problems = (await d.call({ url: `${DASHBOARD_ROUTES.sites}?problem=unreachable` })).json().sites;
    expect(problems.map((s: { id: string }) => s.id)).toEqual([dead.id]);

    const retry = await d.call({
      method: 'POST',
      url: dashboardPath(DASHBOARD_ROUTES.retryFailed, { id: start.json().run_id }),
    });
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toMatchObject({ sites: 1 });
    const again = (await events(retry.json().run_id)).at(-1)?.data as { sites: Array<{ url: string }> };
    expect(again.sites.map((s) => s.url)).toEqual([deadUrl]);
  });

  it('refuses a selection that matches nothing, or a site it does not know', async () => {
    expect((await d.call({ url: DASHBOARD_ROUTES.runs, body: { tags: ['nowhere'] } })).json()).toMatchObject({
      error: 'no_sites_selected',
    });
    expect((await d.call({ url: DASHBOARD_ROUTES.runs, body: { sites: ['ghost'] } })).json()).toMatchObject({
      error: 'site_not_found',
    });
    expect((await d.call({ url: dashboardPath(DASHBOARD_ROUTES.run, { id: 'nope' }) })).statusCode).toBe(404);
  });

  it('audits every mutation, naming keys by fingerprint only', async () => {
    const entries = (await d.call({ url: DASHBOARD_ROUTES.audit })).json().entries as Array<{
      action: string;
      actor: string;
      detail: object;
    }>;
    const actions = entries.map((e) => e.action);
    for (const a of [
      'site.add',
      'keys.create',
      'run.preview',
      'run.confirm',
      'run.start',
      'run.retry_failed',
    ])
      expect(actions).toContain(a);
    // Admin actions are the token's; the system records when a version became safe to roll.
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set(['api-token', 'system']));
    expect(entries.filter((e) => e.actor === 'system').map((e) => e.action)).toEqual(['keys.safe_to_roll']);
    expect(JSON.stringify(entries)).not.toContain(sk);
    expect(JSON.stringify(entries)).toContain(fingerprint(sk));
  });
});
