import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import {
  createStripeGateway,
  StripeGatewayError,
  type CheckoutRequest,
} from '../../src/template/stripe-gateway.js';
import { startFakeStripe, type FakeStripe } from '../fake-stripe/server.js';
import { makeKey, makePriceId } from '../helpers/keys.js';

/** The gateway over the official SDK, against the fake on a real loopback port. */
describe('Stripe gateway', () => {
  const price = makePriceId();
  const launch: CheckoutRequest = {
    domain: 'shop.example.fr',
    email: 'owner@example.fr',
    type: 'standard',
    currency: 'eur',
    successUrl: 'https://site.example.fr/?checkout=success&session_id={CHECKOUT_SESSION_ID}',
    cancelUrl: 'https://site.example.fr/?checkout=cancel',
  };
  let fake: FakeStripe;
  beforeEach(async () => {
    fake = await startFakeStripe({ prices: { [price]: { unit_amount: 4900, currency: 'eur' } } });
  });
  afterEach(() => fake.close());

  const gateway = (timeoutMs = 2000) => createStripeGateway({ apiBase: fake.url, timeoutMs });
  /** The rejection of `p`, which must be a StripeGatewayError. */
  const failure = async (p: Promise<unknown>): Promise<StripeGatewayError> => {
    const err = await p.then(
      () => expect.unreachable('the call succeeded'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StripeGatewayError);
    return err as StripeGatewayError;
  };

  it.each([
    ['sk', 'test', false],
    ['sk', 'live', true],
    ['rk', 'test', false],
  ] as const)(
    'testKey with a %s_%s key reports livemode %s from GET /v1/balance',
    async (kind, mode, livemode) => {
      const key = makeKey(kind, mode);
      await expect(gateway().testKey(key)).resolves.toEqual({ livemode });
      expect(fake.requests).toMatchObject([
        { method: 'GET', path: '/v1/balance', keyFingerprint: fingerprint(key) },
      ]);
    },
  );

  it('checkout with a price id sends price, customer_email, metadata and both URLs', async () => {
    const session = await gateway().createCheckoutSession(makeKey('sk'), { ...launch, priceId: price });
    expect(session.id).toMatch(/^cs_test_/);
    expect(session.url).toBe(`https://checkout.stripe.com/c/pay/${session.id}`);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.form).toEqual({
      mode: 'payment',
      line_items: [{ price, quantity: '1' }],
      customer_email: launch.email,
      metadata: { domain: launch.domain, email: launch.email, type: launch.type },
      success_url: launch.successUrl,
      cancel_url: launch.cancelUrl,
    });
  });

  it('checkout without a price id sends price_data with the amount and a named product', async () => {
    const session = await gateway().createCheckoutSession(makeKey('sk', 'live'), {
      ...launch,
      amountCents: 2900,
    });
    expect(session.id).toMatch(/^cs_live_/);
    expect(fake.requests[0]?.form.line_items).toEqual([
      {
        price_data: {
          currency: 'eur',
          unit_amount: '2900',
          product_data: { name: 'Site launch (standard)' },
        },
        quantity: '1',
      },
    ]);
    expect(fake.sessions).toMatchObject([
      { id: session.id, amount_total: 2900, customer_email: launch.email },
    ]);
  });

  it('an unknown price id is stripe_error carrying Stripe code, param and status', async () => {
    const err = await failure(
      gateway().createCheckoutSession(makeKey('sk'), { ...launch, priceId: makePriceId() }),
    );
    expect(err).toMatchObject({
      code: 'stripe_error',
      statusCode: 400,
      stripeCode: 'resource_missing',
      param: 'line_items[0][price]',
      requestId: expect.stringMatching(/^req_/),
    });
  });

  it('a key Stripe does not know, or has revoked, is stripe_auth_failed', async () => {
    const good = makeKey('sk');
    const strict = await startFakeStripe({ keys: [good] });
    try {
      const g = createStripeGateway({ apiBase: strict.url });
      await expect(g.testKey(good)).resolves.toEqual({ livemode: false });
      expect(await failure(g.testKey(makeKey('sk')))).toMatchObject({
        code: 'stripe_auth_failed',
        statusCode: 401,
      });
      strict.revoke(good);
      const revoked = await failure(g.createCheckoutSession(good, { ...launch, amountCents: 100 }));
      expect(revoked).toMatchObject({ code: 'stripe_auth_failed', stripeCode: 'api_key_expired' });
    } finally {
      await strict.close();
    }
  });

  it('a malformed stored secret is stripe_auth_failed without any request', async () => {
    const err = await failure(gateway().testKey(`${makeKey('sk')}\n`));
    expect(err.code).toBe('stripe_auth_failed');
    expect(fake.requests).toHaveLength(0);
  });

  it('Stripe down (closed port) is stripe_unreachable, naming the network cause', async () => {
    const down = await startFakeStripe();
    await down.close();
    const err = await failure(createStripeGateway({ apiBase: down.url }).testKey(makeKey('sk')));
    expect(err).toMatchObject({ code: 'stripe_unreachable', statusCode: null });
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('a hanging Stripe is stripe_unreachable once the timeout passes (one retry, 0.5 s backoff)', async () => {
    fake.setMode('hang');
    const timeoutMs = 200;
    const started = performance.now();
    const err = await failure(gateway(timeoutMs).testKey(makeKey('sk')));
    const elapsed = performance.now() - started;
    expect(err.code).toBe('stripe_unreachable');
    expect(err.message).toMatch(/timeout/);
    expect(fake.requests).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(2 * timeoutMs);
    expect(elapsed).toBeLessThan(2 * timeoutMs + 500 + 1500);
  });

  it('a socket closed mid-request is stripe_unreachable', async () => {
    fake.setMode('close');
    expect(await failure(gateway().testKey(makeKey('sk')))).toMatchObject({ code: 'stripe_unreachable' });
  });

  it('a 500 is retried once with the same idempotency key, then stripe_error', async () => {
    fake.setMode('error500');
    const err = await failure(
      gateway().createCheckoutSession(makeKey('sk'), { ...launch, amountCents: 100 }),
    );
    expect(err).toMatchObject({ code: 'stripe_error', statusCode: 500 });
    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests;
    expect(first?.idempotencyKey).toMatch(/^stripe-node-retry-/);
    expect(second?.idempotencyKey).toBe(first?.idempotencyKey);
  });

  it('no thrown error holds the secret: not in message, stack, JSON or any property', async () => {
    const secret = makeKey('sk', 'live');
    const leaky = await startFakeStripe({ keys: [makeKey('sk')], echoKeyInErrors: true });
    const errors: StripeGatewayError[] = [];
    try {
      const echoed = await failure(createStripeGateway({ apiBase: leaky.url }).testKey(secret));
      // The relay did echo the key: the error shows the masked form in its place.
      expect(echoed.message).toContain(`Invalid API Key provided: sk_live_…${secret.slice(-4)}`);
      errors.push(echoed);
    } finally {
      await leaky.close();
    }
    errors.push(
      await failure(gateway().createCheckoutSession(secret, { ...launch, priceId: makePriceId() })),
    );
    errors.push(await failure(createStripeGateway({ apiBase: leaky.url }).testKey(secret)));
    fake.setMode('error500');
    errors.push(await failure(gateway().testKey(secret)));
    fake.setMode('hang');
    errors.push(await failure(gateway(100).testKey(secret)));
    errors.push(await failure(gateway().testKey(`${secret} `)));

    expect(errors.map((e) => e.code)).toEqual([
      'stripe_auth_failed',
      'stripe_error',
      'stripe_unreachable',
      'stripe_error',
      'stripe_unreachable',
      'stripe_auth_failed',
    ]);
    for (const err of errors) {
      const views = [
        err.message,
        err.stack ?? '',
        JSON.stringify(err),
        inspect(err, { showHidden: true, depth: null }),
      ];
      for (const view of views) expect(view).not.toContain(secret);
      expect(err.stack).toMatch(/^StripeGatewayError: /);
    }
  });

  it('refuses an apiBase the SDK cannot honour', () => {
    expect(() => createStripeGateway({ apiBase: 'ftp://127.0.0.1:1' })).toThrow(TypeError);
    expect(() => createStripeGateway({ apiBase: 'http://127.0.0.1:1/stripe' })).toThrow(/path/);
    expect(() => createStripeGateway({ apiBase: 'http://127.0.0.1:1/' })).not.toThrow();
  });
});
