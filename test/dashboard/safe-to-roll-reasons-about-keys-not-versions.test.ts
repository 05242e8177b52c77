import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { makeKey } from '../helpers/keys.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { parseSse, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

type Fleet = Awaited<ReturnType<typeof startTemplateFleet>>;
interface Advice {
  name: string;
  last4: string;
  versions: string[];
  wanted_by: number;
  held_by: number;
  unknown: number;
  state: 'in_use' | 'unknown' | 'safe';
}

/**
 * Issue 11 point 1, regression: after v2 was pushed to the two sites of tag `pilot` (v1 stays the
 * fleet default), the console advised rolling v1's keys in Stripe — keys every other site still
 * wanted and held. The advice is now per key: a key is safe only when no site wants it (default, tag
 * override, pin) and no site was last seen holding it, and every site was read.
 */
describe('safe to roll reasons about keys, not versions', () => {
  let fleet: Fleet;
  let d: TestDashboard;
  let refused: Server;
  let deadUrl: string;
  const v1 = { publishable_key: makeKey('pk'), secret_key: makeKey('sk') };
  const v2 = { publishable_key: makeKey('pk'), secret_key: makeKey('sk') };

  const run = async (body: unknown) => {
    const start = await d.call({ url: DASHBOARD_ROUTES.runs, body });
    expect(start.statusCode).toBe(202);
    const events = parseSse(
      (await d.call({ url: dashboardPath(DASHBOARD_ROUTES.runEvents, { id: start.json().run_id }) })).body,
    );
    return events.at(-1)?.data as { summary: Record<string, number> };
  };
  const advice = async () => {
    const res = await d.call({ url: DASHBOARD_ROUTES.keyRoll });
    expect(res.statusCode).toBe(200);
    return res.json().keys as Advice[];
  };
  const of = (keys: Advice[], value: string) => keys.find((k) => value.endsWith(k.last4) && k.name === (value.startsWith('pk') ? 'publishable_key' : 'secret_key'));

  beforeAll(async () => {
    fleet = await startTemplateFleet(3);
    // A port that refuses connections: a site that cannot be reached, never read.
    refused = createServer((s) => s.destroy());
    await new Promise<void>((r) => refused.listen(0, '127.0.0.1', r));
    const port = (refused.address() as AddressInfo).port;
    await new Promise<void>((r) => refused.close(() => r()));
    deadUrl = `http://127.0.0.1:${port}`;
    d = await startTestDashboard({ env: { KEYFLEET_RETRIES: '0', KEYFLEET_VERIFY_INTERVAL_S: '0' } });
    const tags = [['pilot'], ['pilot'], []];
    for (const [i, url] of fleet.urls.entries())
      expect((await d.call({ url: DASHBOARD_ROUTES.sites, body: { url, tags: tags[i] } })).statusCode).toBe(201);
    expect((await d.call({ url: DASHBOARD_ROUTES.sites, body: { url: deadUrl } })).statusCode).toBe(201);
    await d.call({ url: DASHBOARD_ROUTES.keys, body: { ...v1, make_default: true } });
  });
  afterAll(async () => {
    await d.close();
    await fleet.close();
  });

  it('keeps v1 in use while the fleet default wants it, after v2 went to the pilot tag only', async () => {
    expect((await run({ canary: 0, max_failures: '100%' })).summary).toMatchObject({ ok: 3, failed: 1 });
    const saved = await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, ...v2, tag: 'pilot' } });
    expect(saved.statusCode).toBe(201);
    expect(saved.json().version.id).toBe('v2');
    expect((await run({ tags: ['pilot'], canary: 0 })).summary).toMatchObject({ ok: 2, failed: 0 });

    const keys = await advice();
    // v1's keys: wanted by the untagged site and the unreachable one, held by the untagged site.
    for (const value of [v1.publishable_key, v1.secret_key])
      expect(of(keys, value)).toMatchObject({ versions: ['v1'], wanted_by: 2, held_by: 1, unknown: 1, state: 'in_use' });
    for (const value of [v2.publishable_key, v2.secret_key])
      expect(of(keys, value)).toMatchObject({ versions: ['v2'], wanted_by: 2, held_by: 2, state: 'in_use' });
    expect(keys.filter((k) => k.state === 'safe')).toEqual([]);
    // No response says a value.
    expect(JSON.stringify(keys)).not.toContain(v1.secret_key);
  });

  it('keeps v1 in use while a site is seen holding it, then while a pin wants it', async () => {
    const put = await d.call({ method: 'PUT', url: DASHBOARD_ROUTES.desired, body: { version: 'v2' } });
    expect(put.statusCode).toBe(200);
    // Nobody wants v1 now, but the untagged site still holds it and the dead one was never read.
    let k = of(await advice(), v1.secret_key);
    expect(k).toMatchObject({ wanted_by: 0, held_by: 1, unknown: 1, state: 'in_use' });

    expect((await run({ canary: 0, max_failures: '100%' })).summary).toMatchObject({ ok: 1, unchanged: 2, failed: 1 });
    k = of(await advice(), v1.secret_key);
    // Nobody wants or was seen holding it, but one site was never read: it cannot be called safe.
    expect(k).toMatchObject({ wanted_by: 0, held_by: 0, unknown: 1, state: 'unknown' });

    const dead = (await d.call({ url: `${DASHBOARD_ROUTES.sites}?q=${encodeURIComponent(deadUrl)}` })).json().sites[0];
    expect((await d.call({ method: 'DELETE', url: dashboardPath(DASHBOARD_ROUTES.site, { id: dead.id }) })).statusCode).toBe(200);
    expect(of(await advice(), v1.secret_key)).toMatchObject({ wanted_by: 0, held_by: 0, unknown: 0, state: 'safe' });

    // A pin on v1 makes its keys wanted again.
    const site = (await d.call({ url: `${DASHBOARD_ROUTES.sites}?q=${encodeURIComponent(fleet.urls[2]!)}` })).json().sites[0];
    const pin = await d.call({ method: 'PATCH', url: dashboardPath(DASHBOARD_ROUTES.site, { id: site.id }), body: { desired_version: 'v1' } });
    expect(pin.statusCode).toBe(200);
    expect(of(await advice(), v1.secret_key)).toMatchObject({ wanted_by: 1, state: 'in_use' });
  });
});
