import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

const VOLATILE = new Set(['date', 'connection', 'keep-alive']);
const stable = (h: Record<string, unknown>) => Object.fromEntries(Object.entries(h).filter(([k]) => !VOLATILE.has(k)));

/** GET /api/stripe-pk on a real port is served in front of Fastify: it must be indistinguishable. */
describe('the /api/stripe-pk fast path on a real port', () => {
  let site: TestSite;
  let base: string;
  beforeAll(async () => {
    site = await startTestSite();
    await site.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(site.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => site.close());

  const real = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
  };

  it('falls through to the route (404 no_publishable_key) before a key exists', async () => {
    const res = await real(ROUTES.stripePk);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).error).toBe('no_publishable_key');
  });

  it('answers the same body and headers as the Fastify route, and follows every push', async () => {
    for (const pk of [makeKey('pk'), makeKey('pk', 'live', 90)]) {
      await site.app.inject({
        method: 'PUT',
        url: settingPath('stripe_publishable_key'),
        headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' },
        payload: JSON.stringify({ value: pk }),
      });
      const viaRoute = await site.app.inject({ url: ROUTES.stripePk });
      const viaPort = await real(ROUTES.stripePk);
      expect(viaPort.status).toBe(200);
      expect(viaPort.body).toBe(`{"success":true,"publishable_key":"${pk}"}`);
      expect(viaPort.body).toBe(viaRoute.body);
      expect(stable(viaPort.headers)).toEqual(stable(viaRoute.headers as Record<string, unknown>));
    }
  });

  it('leaves other requests to Fastify, and counts its own in /metrics', async () => {
    expect((await real(`${ROUTES.stripePk}?x=1`)).status).toBe(200);
    expect((await fetch(base + ROUTES.stripePk, { method: 'HEAD' })).status).toBe(200);
    const metrics = (await real(ROUTES.metrics)).body;
    const line = metrics.split('\n').find((l) => l.startsWith('keyfleet_template_http_requests_total{route="/api/stripe-pk",status="200"}'));
    expect(Number(line?.split(' ').at(-1))).toBeGreaterThanOrEqual(4);
  });
});
