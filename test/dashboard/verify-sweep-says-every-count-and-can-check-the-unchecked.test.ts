import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES } from '../../src/protocol/dashboard-routes.js';
import { refusedPort } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

type Fleet = Awaited<ReturnType<typeof startTemplateFleet>>;

/**
 * Issue 11 point 9 and 6: a verify sweep counts every kind of answer (in sync, drifted,
 * unreachable, errors, no key version), live while it runs and for the last one; a sweep can be
 * asked for only the sites never checked (imported, still Unchecked).
 */
describe('a verify sweep says every count, and can check only the unchecked sites', () => {
  let fleet: Fleet;
  let d: TestDashboard;
  const verify = async (body: object) => {
    const res = await d.call({ url: DASHBOARD_ROUTES.verify, body: { wait: true, ...body } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    fleet = await startTemplateFleet(2);
    const port = await refusedPort();
    d = await startTestDashboard({ env: { KEYFLEET_RETRIES: '0', KEYFLEET_VERIFY_INTERVAL_S: '0' } });
    for (const url of [...fleet.urls, `http://127.0.0.2:${port}`, `http://127.0.0.3:${port}`, `http://127.0.0.4:${port}`])
      await d.call({ url: DASHBOARD_ROUTES.sites, body: { url } });
  });
  afterAll(async () => {
    await d.close();
    await fleet.close();
  });

  it('with no key version, says that no site was checked and why', async () => {
    const status = await verify({});
    expect(status).toMatchObject({ running: false, progress: null, last_checked: 0 });
    expect(status.last).toEqual({ total: 5, checked: 0, in_sync: 0, drifted: 0, unreachable: 0, errors: 0, no_version: 5 });
  });

  it('checks only the unchecked sites when asked, and counts the unreachable apart from the drifted', async () => {
    await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: makeKey('pk') } });
    const first = await verify({ problem: 'unchecked' });
    expect(first.last).toEqual({ total: 5, checked: 5, in_sync: 0, drifted: 2, unreachable: 3, errors: 0, no_version: 0 });
    // Every site has been read now: none is unchecked any more.
    const again = await verify({ problem: 'unchecked' });
    expect(again.last).toMatchObject({ total: 0, checked: 0 });
    const one = await verify({ sites: [fleet.urls[0]!] });
    expect(one.last).toMatchObject({ total: 1, checked: 1, drifted: 1 });
    const summary = (await d.call({ url: `${DASHBOARD_ROUTES.sites}?summary=true&limit=1` })).json().summary;
    expect(summary.statuses).toMatchObject({ all: 5, drifted: 2, unreachable: 3, unchecked: 0 });
  });
});
