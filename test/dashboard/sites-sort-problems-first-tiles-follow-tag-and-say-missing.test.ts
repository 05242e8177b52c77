import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES } from '../../src/protocol/dashboard-routes.js';
import { refusedPort } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { parseSse, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

type Fleet = Awaited<ReturnType<typeof startTemplateFleet>>;

/**
 * Issue 11 point 10 through the API: the sites list sorts problems first; the status tiles' counts
 * follow the tag filter; a site that holds no key is `missing` it, not merely different.
 */
describe('sites: problems first, tiles follow the tag, missing keys said so', () => {
  let fleet: Fleet;
  let d: TestDashboard;
  let dead: string[];
  const list = async (query: string) => (await d.call({ url: `${DASHBOARD_ROUTES.sites}?${query}` })).json();

  beforeAll(async () => {
    fleet = await startTemplateFleet(2);
    const port = await refusedPort();
    dead = [`http://127.0.0.2:${port}`, `http://127.0.0.3:${port}`];
    d = await startTestDashboard({ env: { KEYFLEET_RETRIES: '0', KEYFLEET_VERIFY_INTERVAL_S: '0' } });
    const tags = [[], ['a'], ['a'], []];
    for (const [i, url] of [fleet.urls[0]!, dead[0]!, fleet.urls[1]!, dead[1]!].entries())
      await d.call({ url: DASHBOARD_ROUTES.sites, body: { url, tags: tags[i] } });
    await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: makeKey('pk'), secret_key: makeKey('sk') } });
    // Only the first site gets the keys; the second real one keeps holding nothing.
    const run = await d.call({ url: DASHBOARD_ROUTES.runs, body: { sites: [fleet.urls[0]!], canary: 0 } });
    parseSse((await d.call({ url: `${DASHBOARD_ROUTES.runs}/${run.json().run_id}/events` })).body);
    await d.call({ url: DASHBOARD_ROUTES.verify, body: { wait: true } });
  });
  afterAll(async () => {
    await d.close();
    await fleet.close();
  });

  it('lists problems first (drifted, then unreachable), in sync last; paging follows that order', async () => {
    const all = await list('sort=problems&limit=10');
    expect(all.sites.map((s: { url: string }) => s.url)).toEqual([fleet.urls[1], dead[0], dead[1], fleet.urls[0]]);
    const second = await list('sort=problems&limit=2&offset=2');
    expect(second.sites.map((s: { url: string }) => s.url)).toEqual([dead[1], fleet.urls[0]]);
    // The default stays the order sites were added in.
    expect((await list('limit=10')).sites.map((s: { url: string }) => s.url)).toEqual([fleet.urls[0], dead[0], fleet.urls[1], dead[1]]);
  });

  it('counts the tiles over the tag filtered on; the tag menu stays the fleet', async () => {
    expect((await list('limit=1&summary=true')).summary.statuses).toMatchObject({ all: 4, ok: 1, drifted: 1, unreachable: 2 });
    const tagged = (await list('tag=a&limit=1&summary=true')).summary;
    expect(tagged.statuses).toMatchObject({ all: 2, ok: 0, drifted: 1, unreachable: 1 });
    expect(tagged.tags).toEqual({ a: 2 });
  });

  it('says which keys a site holds none of', async () => {
    const sites = (await list('limit=10')).sites as Array<{ url: string; missing: string[]; health: { pk_as_desired: boolean } }>;
    const empty = sites.find((s) => s.url === fleet.urls[1]);
    expect(empty?.health.pk_as_desired).toBe(false);
    expect(empty?.missing.sort()).toEqual(['stripe_price_id', 'stripe_publishable_key', 'stripe_secret_key', 'stripe_webhook_secret']);
    expect(sites.find((s) => s.url === fleet.urls[0])?.missing).toEqual(['stripe_price_id', 'stripe_webhook_secret']);
    expect(sites.find((s) => s.url === dead[0])?.missing).toEqual([]);
  });
});
