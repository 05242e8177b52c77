import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { startFakeStripe, type FakeStripe } from '../fake-stripe/server.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

describe('POST /api/test-stripe and POST /saas_launch_site through the Stripe SDK', () => {
  let stripe: FakeStripe;
  let site: TestSite;
  beforeAll(async () => {
    stripe = await startFakeStripe({ prices: { price_launchStandard: { unit_amount: 9900, currency: 'eur' } } });
  });
  afterAll(async () => stripe.close());
  afterEach(async () => {
    stripe.setMode('ok');
    await site.close();
  });

  const start = (config = {}) =>
    startTestSite({ config: { stripeApiBase: stripe.url, stripeTimeoutMs: 500, publicUrl: 'https://site.example.fr', ...config } });
  const put = (name: string, value: string) =>
    site.app.inject({
      method: 'PUT',
      url: settingPath(name),
      headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' },
      payload: JSON.stringify({ value }),
    });
  const testStripe = () => site.app.inject({ method: 'POST', url: ROUTES.testStripe, headers: { 'x-api-key': MASTER_KEY } });
  const launch = (body: unknown = { domain: 'shop.example.fr', email: 'owner@example.fr', type: 'standard' }) =>
    site.app.inject({ method: 'POST', url: ROUTES.launch, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

  it('answers 503 stripe_not_configured before a secret is pushed', async () => {
    site = await start();
    expect((await testStripe()).json()).toMatchObject({ error: 'stripe_not_configured' });
    const res = await launch();
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toBe('stripe_not_configured');
  });

  it('reports livemode from a real read-only call with the stored secret', async () => {
    site = await start();
    await put('stripe_secret_key', makeKey('sk', 'test'));
    expect((await testStripe()).json()).toEqual({ success: true, livemode: false });
    await put('stripe_secret_key', makeKey('sk', 'live'));
    expect((await testStripe()).json()).toEqual({ success: true, livemode: true });
    expect(stripe.requests.at(-1)?.path).toBe('/v1/balance');
  });

  it('maps a revoked key to 502 stripe_auth_failed and a dead Stripe to 502 stripe_unreachable', async () => {
    site = await start();
    const sk = makeKey('sk');
    await put('stripe_secret_key', sk);
    stripe.revoke(sk);
    const auth = await testStripe();
    expect(auth.statusCode).toBe(502);
    expect(auth.json().error).toBe('stripe_auth_failed');
    await put('stripe_secret_key', makeKey('sk'));
    stripe.setMode('close');
    const down = await testStripe();
    expect(down.statusCode).toBe(502);
    expect(down.json().error).toBe('stripe_unreachable');
    expect(auth.body + down.body + site.logs.text()).not.toContain(sk);
  });

  it('creates a Checkout Session priced from SAAS_LAUNCH_PRICE_CENTS, with metadata and PUBLIC_URL', async () => {
    site = await start({ launchPriceCents: 12345, launchCurrency: 'usd' });
    await put('stripe_secret_key', makeKey('sk'));
    const res = await launch();
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toEqual({ success: true, checkout_url: expect.stringMatching(/^https:\/\//), session_id: expect.stringMatching(/^cs_test_/) });
    const form = stripe.requests.at(-1)?.form as Record<string, unknown>;
    expect(JSON.stringify(form)).toContain('12345');
    expect(JSON.stringify(form)).toContain('usd');
    expect(form.metadata).toEqual({ domain: 'shop.example.fr', email: 'owner@example.fr', type: 'standard' });
    expect(String(form.success_url)).toMatch(/^https:\/\/site\.example\.fr\/\?checkout=success/);
    expect(String(form.cancel_url)).toBe('https://site.example.fr/?checkout=cancel');
  });

  it('uses the stripe_price_id setting when one was pushed', async () => {
    site = await start();
    await put('stripe_secret_key', makeKey('sk'));
    await put('stripe_price_id', 'price_launchStandard');
    expect((await launch()).statusCode).toBe(200);
    expect(JSON.stringify(stripe.requests.at(-1)?.form)).toContain('price_launchStandard');
    await put('stripe_price_id', 'price_doesNotExist');
    const missing = await launch();
    expect(missing.statusCode).toBe(502);
    expect(missing.json().error).toBe('stripe_error');
  });
});
