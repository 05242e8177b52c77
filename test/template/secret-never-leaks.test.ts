import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { startFakeStripe, type FakeStripe } from '../fake-stripe/server.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey, makeWebhookSecret } from '../helpers/keys.js';

/**
 * A whole session against one site — pushes, reads, bad input, failed auth, Stripe calls that fail
 * with the key echoed back — then a grep of every response and log line for the secrets.
 */
describe('no secret in any response or log line of a full session', () => {
  let stripe: FakeStripe;
  let site: TestSite;
  const sk = makeKey('sk', 'live');
  const wh = makeWebhookSecret();
  const seen: string[] = [];

  beforeAll(async () => {
    stripe = await startFakeStripe({ echoKeyInErrors: true });
    site = await startTestSite({ config: { stripeApiBase: stripe.url, stripeTimeoutMs: 500 }, logLevel: 'debug' });
  });
  afterAll(async () => {
    await site.close();
    await stripe.close();
  });

  const call = async (opts: InjectOptions) => {
    const res = await site.app.inject(opts);
    seen.push(JSON.stringify(res.headers), res.body);
    return res;
  };
  const put = (name: string, value: string, key = MASTER_KEY) =>
    call({ method: 'PUT', url: settingPath(name), headers: { 'x-api-key': key, 'content-type': 'application/json' }, payload: JSON.stringify({ value }) });

  it('runs the session', async () => {
    expect((await put('stripe_secret_key', sk)).statusCode).toBe(200);
    expect((await put('stripe_webhook_secret', wh)).statusCode).toBe(200);
    await put('stripe_publishable_key', makeKey('pk', 'live'));
    await put('stripe_secret_key', `${sk} `); // rejected: whitespace
    await put('stripe_publishable_key', sk); // a secret in the wrong field
    await put('stripe_secret_key', sk, 'wrong-key');
    for (const name of ['stripe_secret_key', 'stripe_webhook_secret']) await call({ url: settingPath(name) });
    await call({ url: ROUTES.stripePk });
    await call({ url: ROUTES.healthStripe });
    await call({ url: ROUTES.healthStripe, headers: { 'x-api-key': MASTER_KEY } });
    await call({ method: 'POST', url: ROUTES.testStripe, headers: { 'x-api-key': MASTER_KEY } });
    stripe.revoke(sk);
    const failed = await call({ method: 'POST', url: ROUTES.testStripe, headers: { 'x-api-key': MASTER_KEY } });
    expect(failed.json().error).toBe('stripe_auth_failed');
    await call({ method: 'POST', url: ROUTES.launch, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ domain: 'a.example.fr', email: 'a@example.fr', type: 'standard' }) });
    await call({ method: 'POST', url: ROUTES.launch, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ domain: sk, email: sk, type: sk }) });
    await call({ url: ROUTES.metrics });
    await call({ url: ROUTES.openapi });
    expect(stripe.requests.length).toBeGreaterThan(1);
  });

  it('finds neither secret anywhere, while the logs did record the events (masked)', () => {
    const everything = seen.join('\n') + site.logs.text();
    expect(everything).not.toContain(sk);
    expect(everything).not.toContain(wh);
    expect(everything).not.toContain(sk.slice(8, 30));
    expect(site.logs.text()).toContain('setting updated');
    expect(site.logs.text()).toContain('stripe call failed');
    expect(site.logs.text()).toContain(`sk_live_…${sk.slice(-4)}`);
  });
});
