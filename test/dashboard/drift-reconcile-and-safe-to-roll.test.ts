import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { settingPath } from '../../src/protocol/routes.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { parseSse, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

type Fleet = Awaited<ReturnType<typeof startTemplateFleet>>;

/**
 * Desired state end to end: a verify sweep finds a site someone changed by hand, reconcile pushes to
 * that site only, and after a key change the dashboard records when every site holds the new key.
 */
describe('drift, reconcile and safe to roll', () => {
  let fleet: Fleet;
  let d: TestDashboard;
  const pk = makeKey('pk');

  const runToEnd = async (body: unknown) => {
    const start = await d.call({ url: DASHBOARD_ROUTES.runs, body });
    expect(start.statusCode).toBe(202);
    const events = parseSse(
      (await d.call({ url: dashboardPath(DASHBOARD_ROUTES.runEvents, { id: start.json().run_id }) })).body,
    );
    return events.at(-1)?.data as {
      summary: Record<string, number>;
      sites: Array<{ url: string; status: string }>;
    };
  };
  const verify = async () => (await d.call({ url: DASHBOARD_ROUTES.verify, body: { wait: true } })).json();
  const sites = async (query = '') =>
    (await d.call({ url: `${DASHBOARD_ROUTES.sites}${query}` })).json().sites as Array<{
      url: string;
      drift: string;
      health: Record<string, unknown>;
    }>;
  const versions = async () =>
    (await d.call({ url: DASHBOARD_ROUTES.keys })).json().versions as Array<{
      id: string;
      safe_to_roll: { sites: number } | null;
    }>;

  beforeAll(async () => {
    fleet = await startTemplateFleet(3);
    d = await startTestDashboard({ env: { KEYFLEET_RETRIES: '0', KEYFLEET_VERIFY_INTERVAL_S: '0' } });
    for (const url of fleet.urls) await d.call({ url: DASHBOARD_ROUTES.sites, body: { url } });
    await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: pk, secret_key: makeKey('sk') } });
  });
  afterAll(async () => {
    await d.close();
    await fleet.close();
  });

  it('records that v1 is verified everywhere once the push verified every site', async () => {
    expect((await versions())[0]?.safe_to_roll).toBeNull();
    expect((await runToEnd({ canary: 0 })).summary).toMatchObject({ ok: 3 });
    expect((await versions())[0]).toMatchObject({ id: 'v1', safe_to_roll: { sites: 3 } });
  });

  it('finds the site whose publishable key was changed by hand, and reconciles only that one', async () => {
    const other = makeKey('pk');
    const put = await fleet.sites[1]!.app.inject({
      method: 'PUT',
      url: settingPath('stripe_publishable_key'),
      headers: { 'x-api-key': MASTER_KEY },
      payload: { value: other },
    });
    expect(put.statusCode).toBe(200);
    const status = await verify();
    expect(status).toMatchObject({ running: false, sweeps: 1, last_checked: 3, last_drifted: 1 });
    const drifted = await sites('?problem=drift');
    expect(drifted.map((s) => s.url)).toEqual([fleet.urls[1]]);
    expect(drifted[0]?.health).toMatchObject({
      reachable: true,
      pk_as_desired: false,
      sk_as_desired: true,
      problem: 'drift',
    });

    const reconcile = await runToEnd({ drifted_only: true });
    expect(reconcile.sites.map((s) => [s.url, s.status])).toEqual([[fleet.urls[1], 'ok']]);
    expect(await fleet.pkOf(1)).toBe(pk);
    expect(await sites('?problem=drift')).toEqual([]);
  });

  it('after a key change, says when every site holds the new key, and records it once', async () => {
    const v2 = (await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, secret_key: makeKey('sk') } })).json()
      .version;
    expect(v2.id).toBe('v2');
    // Every site was verified on v1: each is now drifted from v2 until it is pushed.
    expect((await sites()).map((s) => s.drift)).toEqual(['drifted', 'drifted', 'drifted']);
    expect((await versions()).find((v) => v.id === 'v2')?.safe_to_roll).toBeNull();
    expect((await runToEnd({ drifted_only: true, canary: 0 })).summary).toMatchObject({ total: 3, ok: 3 });
    const recorded = (await versions()).find((v) => v.id === 'v2')?.safe_to_roll;
    expect(recorded).toMatchObject({ sites: 3 });
    await verify();
    expect((await versions()).find((v) => v.id === 'v2')?.safe_to_roll).toEqual(recorded);
    const audit = (await d.call({ url: DASHBOARD_ROUTES.audit })).json().entries as Array<{
      action: string;
      actor: string;
      target: string;
    }>;
    expect(audit.filter((e) => e.action === 'keys.safe_to_roll').map((e) => [e.actor, e.target])).toEqual([
      ['system', 'v2'],
      ['system', 'v1'],
    ]);
  });

  it('sweeps on its own at the configured interval', async () => {
    const periodic = await startTestDashboard({ env: { ...d.env, KEYFLEET_VERIFY_INTERVAL_S: '1' } });
    try {
      // Answers once the first periodic sweep has finished (an awaited event, not a sleep).
      const status = (await periodic.call({ url: `${DASHBOARD_ROUTES.verify}?wait_for_sweep=1` })).json();
      expect(status).toMatchObject({ interval_s: 1, running: false, last_checked: 3 });
      expect(status.sweeps).toBeGreaterThanOrEqual(1);
    } finally {
      await periodic.close(); // drops its own (unused) database; the one it used is d's
    }
  });
});
