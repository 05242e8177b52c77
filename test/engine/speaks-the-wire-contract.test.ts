import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_HEADER, ROUTES, settingPath } from '../../src/protocol/routes.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { createSiteClient, type RequestEvent, type SiteClient } from '../../src/engine/site-client.js';
import { FAKE_SITE_VERSION, fakeKey, startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';

/**
 * Each client method against a well-behaved site: the right route and method, compact JSON bodies,
 * the key in X-API-Key only when the route needs it, a base path kept, and every result carrying
 * attempts and duration for the push report.
 */
const apiKey = fakeKey('api');
let site: FakeSiteServer;
let client: SiteClient;
const events: RequestEvent[] = [];

beforeAll(async () => {
  site = await startFakeSite({ apiKey });
  client = createSiteClient({
    timeoutMs: 2000,
    retries: 0,
    concurrency: 4,
    env: {},
    userAgent: 'keyfleet-test/1',
    onRequest: (e) => events.push(e),
  });
});
afterAll(async () => {
  await client.close();
  await site.close();
});

const last = () => site.requests.at(-1)!;

describe('the wire contract, from the client side', () => {
  it('pushes a setting as compact JSON with the key header and reads it back', async () => {
    const pk = fakeKey('pk_test');
    const put = await client.putSetting(site.url, 'stripe_publishable_key', pk, apiKey);
    expect(put).toMatchObject({ value: undefined, attempts: 1 });
    expect(put.durationMs).toBeGreaterThanOrEqual(0);
    expect(last()).toMatchObject({
      method: 'PUT',
      url: settingPath('stripe_publishable_key'),
      body: `{"value":"${pk}"}`,
    });
    expect(last().headers[API_KEY_HEADER]).toBe(apiKey);
    expect(last().headers['content-type']).toBe('application/json');
    expect(last().headers['user-agent']).toBe('keyfleet-test/1');
    expect((await client.getPublishableKey(site.url)).value).toBe(pk);
    expect(last()).toMatchObject({ method: 'GET', url: ROUTES.stripePk });
    expect(last().headers[API_KEY_HEADER]).toBeUndefined();
  });

  it('reads health, public and authenticated', async () => {
    expect((await client.getHealth(site.url)).value).toEqual({
      status: 'ok',
      version: FAKE_SITE_VERSION,
      database: 'ok',
    });
    const pub = await client.getStripeHealth(site.url);
    expect(pub.value.authenticated).toBeUndefined();
    expect(last().headers[API_KEY_HEADER]).toBeUndefined();
    const sk = fakeKey('sk_test');
    await client.putSetting(site.url, 'stripe_secret_key', sk, apiKey);
    const authed = await client.getStripeHealth(site.url, apiKey);
    expect(authed.value.authenticated).toBe(true);
    expect(authed.value.keys?.stripe_secret_key?.fingerprint).toBe(fingerprint(sk));
  });

  it('tests Stripe with a POST that carries no body', async () => {
    expect((await client.testStripe(site.url, apiKey)).value).toEqual({ success: true, livemode: false });
    expect(last()).toMatchObject({ method: 'POST', url: ROUTES.testStripe, body: '' });
  });

  it('rotates and confirms credentials with no moment where neither key works', async () => {
    const newKey = fakeKey('api', 48);
    await client.rotateCredentials(site.url, apiKey, newKey);
    expect(last()).toMatchObject({ url: ROUTES.rotateCredentials, body: `{"new_key":"${newKey}"}` });
    expect(site.state.apiKeys.has(apiKey) && site.state.apiKeys.has(newKey)).toBe(true);
    await client.confirmCredentials(site.url, newKey, { retire_shared_key: true });
    expect(last()).toMatchObject({ url: ROUTES.confirmCredentials, body: '{"retire_shared_key":true}' });
    expect(last().headers[API_KEY_HEADER]).toBe(newKey);
    expect([...site.state.apiKeys]).toEqual([newKey]);
    // Back to the original key for the other tests.
    site.state.apiKeys = new Set([apiKey]);
  });

  it('maps a documented error of the route to its code (unknown_setting)', async () => {
    const err = await client
      .putSetting(site.url, 'stripe_bogus' as 'stripe_price_id', 'x', apiKey)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unknown_setting', httpStatus: 404 });
  });

  it('keeps the base path of a site URL', async () => {
    const err = await client.getHealth(`${site.url}/shop/`).catch((e: unknown) => e);
    expect(last().url).toBe(`/shop${ROUTES.health}`);
    expect(err).toMatchObject({ code: 'not_found', url: `${site.url}/shop${ROUTES.health}` });
  });

  it('reports every attempt to onRequest without keys', () => {
    expect(events.length).toBe(site.calls);
    expect(events[0]).toMatchObject({
      method: 'PUT',
      url: `${site.url}${settingPath('stripe_publishable_key')}`,
      attempt: 1,
      status: 200,
      code: null,
    });
    expect(JSON.stringify(events)).not.toContain(apiKey);
  });

  it('counts requests', () => {
    expect(client.stats()).toMatchObject({ requests: site.calls, inFlight: 0 });
  });
});
