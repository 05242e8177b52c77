import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSiteClient, type SiteClient } from '../../src/engine/site-client.js';
import { openStateStore } from '../../src/store/open-state-store.js';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { startCountingProxy, type CountingProxy } from '../fault-fleet/counting-proxy.js';
import { makeKey } from '../helpers/keys.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { parseSse, REGISTRATION_TOKEN, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

type Fleet = Awaited<ReturnType<typeof startTemplateFleet>>;

/**
 * The approval rule (issue 12: a site waiting for approval is sent nothing) on the console's paths
 * (issue 11): confirming a preview — with or without "only the sites that passed" — and re-running
 * the failed sites, or one failure group. The way a pending site gets into such a run: it was in the
 * preview, an admin removed it, and a stranger registered its URL again (pending). Every request the
 * dashboard makes goes through a counting proxy, so "nothing was sent" is a count.
 */
describe('a site waiting for approval gets nothing from confirm or re-run', () => {
  const GONE = 'https://gone.invalid';
  let proxy: CountingProxy;
  let client: SiteClient;
  let fleet: Fleet;
  let d: TestDashboard;
  let previewId: string;
  let strangerId: string;
  const reached = () => [...proxy.connects, ...proxy.requests].filter((r) => r.includes('gone.invalid'));
  const path = (route: string, id: string) => dashboardPath(route, { id });
  const toEnd = async (runId: string) => {
    const events = parseSse((await d.call({ url: path(DASHBOARD_ROUTES.runEvents, runId) })).body);
    return events.at(-1)?.data as { state: string; summary: Record<string, number> };
  };

  beforeAll(async () => {
    proxy = await startCountingProxy();
    client = createSiteClient({
      timeoutMs: 3000,
      retries: 0,
      concurrency: 4,
      env: { HTTP_PROXY: proxy.url },
    });
    fleet = await startTemplateFleet(1);
    d = await startTestDashboard({ client, env: { KEYFLEET_RETRIES: '0', KEYFLEET_VERIFY_INTERVAL_S: '0' } });
    for (const url of [fleet.urls[0]!, GONE]) {
      const res = await d.call({ url: DASHBOARD_ROUTES.sites, body: { url } });
      expect(res.statusCode, res.body).toBe(201);
    }
    const keys = await d.call({
      url: DASHBOARD_ROUTES.keys,
      body: { make_default: true, publishable_key: makeKey('pk'), secret_key: makeKey('sk') },
    });
    expect(keys.statusCode, keys.body).toBe(201);

    // The preview reaches both: the proxy refuses the tunnel to gone.invalid (proxy_error).
    const preview = await d.call({ url: DASHBOARD_ROUTES.runs, body: { dry_run: true } });
    expect(preview.statusCode, preview.body).toBe(202);
    previewId = preview.json().run_id as string;
    expect((await toEnd(previewId)).summary).toMatchObject({ total: 2, ok: 1, failed: 1 });
    expect(reached().length).toBeGreaterThan(0);
    const groups = (await d.call({ url: path(DASHBOARD_ROUTES.runFailures, previewId) })).json().groups;
    expect(groups.map((g: { code: string }) => g.code)).toEqual(['proxy_error']);

    // Removed by an admin, then registered again by whoever holds the token: pending.
    const sites = (await d.call({ url: DASHBOARD_ROUTES.sites })).json().sites as {
      id: string;
      url: string;
    }[];
    const gone = sites.find((s) => s.url.includes('gone.invalid'));
    expect(gone).toBeDefined();
    const removed = await d.call({
      method: 'DELETE',
      url: dashboardPath(DASHBOARD_ROUTES.site, { id: gone!.id }),
    });
    expect(removed.statusCode, removed.body).toBeLessThan(300);
    const again = await d.call({
      url: DASHBOARD_ROUTES.register,
      body: { site_url: GONE, api_key: 'stranger-key-0123456789' },
      auth: 'none',
      from: '10.7.7.7',
      headers: { authorization: `Bearer ${REGISTRATION_TOKEN}` },
    });
    expect(again.statusCode, again.body).toBe(202);
    expect(again.json().approval).toBe('pending');
    strangerId = again.json().site_id as string;
  });
  afterAll(async () => {
    await d.close();
    await client.close();
    await fleet.close();
    await proxy.close();
  });

  it('re-running the failed sites (all, or the proxy_error group) refuses and sends nothing', async () => {
    const before = reached().length;
    for (const body of [{}, { code: 'proxy_error' }]) {
      const res = await d.call({ url: path(DASHBOARD_ROUTES.retryFailed, previewId), body });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ error: 'no_sites_selected' });
      expect(res.json().message).toContain('approv');
    }
    expect(reached().length).toBe(before);
  });

  it('confirming the whole preview pushes the approved site only, and says one was left out', async () => {
    const before = reached().length;
    const res = await d.call({ url: path(DASHBOARD_ROUTES.confirmRun, previewId), body: {} });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ sites: 1, awaiting_approval: 1 });
    const end = await toEnd(res.json().run_id as string);
    expect(end.summary).toMatchObject({ total: 1, ok: 1, failed: 0 });
    const results = (await d.call({ url: path(DASHBOARD_ROUTES.run, res.json().run_id as string) })).json();
    expect(JSON.stringify(results)).not.toContain('gone.invalid');
    expect(reached().length).toBe(before);
  });

  it('resuming an interrupted run skips it with site_pending, sends it nothing, and the run ends', async () => {
    // A run over both sites that stopped before touching either (written as a killed dashboard leaves it).
    const store = await openStateStore({ env: d.env });
    let runId: string;
    try {
      const version = (await store.listKeyVersions())[0]!.id;
      const run = await store.createRun({
        command: 'push',
        dry_run: false,
        actor: 'test',
        sites_source: null,
        keys: {},
        options: { desired: { default: version, others: {} }, max_failures: '100%', canary: 0 },
        key_version_id: version,
        sites: [fleet.urls[0]!, GONE],
      });
      runId = run.id;
      await store.finishRun(run.id, 'interrupted');
    } finally {
      await store.close();
    }
    const before = reached().length;
    const res = await d.call({ url: path(DASHBOARD_ROUTES.resumeRun, runId), body: {} });
    expect(res.statusCode, res.body).toBe(202);
    const end = await toEnd(runId);
    // The approved site already holds the keys (the confirms above): unchanged.
    expect(end.summary).toMatchObject({ total: 2, unchanged: 1, skipped: 1, failed: 0 });
    const sites = (await d.call({ url: path(DASHBOARD_ROUTES.run, runId) })).json().sites as {
      url: string;
      status: string;
      error: { code: string } | null;
    }[];
    expect(sites.find((s) => s.url.includes('gone.invalid'))).toMatchObject({
      status: 'skipped',
      error: { code: 'site_pending' },
    });
    expect(reached().length).toBe(before);
  });

  it('asking for its publishable key with its own key gets 409 site_pending, not the key', async () => {
    const res = await d.call({
      url: dashboardPath(DASHBOARD_ROUTES.siteStripeKey, { site: strangerId }),
      auth: 'none',
      from: '10.7.7.8',
      headers: { 'x-api-key': 'stranger-key-0123456789' },
    });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json()).toMatchObject({ error: 'site_pending' });
    expect(res.body).not.toContain('pk_');
  });

  it("the console's bulk doctor, verify of the unchecked or of named sites, and a push by filter send it nothing", async () => {
    const before = reached().length;
    // Bulk doctor over a filter that matches it: the job ends, the site counted as failed, untouched.
    const started = await d.call({
      url: DASHBOARD_ROUTES.bulkSites,
      body: { action: 'doctor', q: 'gone', expected: 1 },
    });
    expect(started.statusCode, started.body).toBe(202);
    const id = started.json().job.id as string;
    let job: { state: string; failed: number; errors: { message: string }[] };
    do {
      await new Promise((resolve) => setImmediate(resolve));
      job = (await d.call({ url: dashboardPath(DASHBOARD_ROUTES.bulkJob, { id }) })).json().job;
    } while (job.state !== 'done');
    expect(job.failed).toBe(1);
    expect(job.errors[0]?.message).toBe('site_pending');
    // Verify now: the unchecked sites (it is one), or it by name.
    for (const body of [
      { wait: true, problem: 'unchecked' },
      { wait: true, sites: [strangerId] },
    ]) {
      const res = await d.call({ url: DASHBOARD_ROUTES.verify, body });
      expect(res.statusCode, res.body).toBeLessThan(300);
    }
    // 'Preview a push' to every site matching a filter that only it matches: nothing to preview.
    const preview = await d.call({ url: DASHBOARD_ROUTES.runs, body: { dry_run: true, q: 'gone' } });
    expect(preview.json()).toMatchObject({ error: 'no_sites_selected' });
    expect(reached().length).toBe(before);
  });

  it('confirming only the sites that passed sends nothing to it either', async () => {
    const before = reached().length;
    const res = await d.call({
      url: path(DASHBOARD_ROUTES.confirmRun, previewId),
      body: { only_passed: true },
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ sites: 1 });
    expect((await toEnd(res.json().run_id as string)).summary).toMatchObject({ total: 1, failed: 0 });
    expect(reached().length).toBe(before);
  });
});
