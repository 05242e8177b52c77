import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { makeKey, makePriceId } from '../helpers/keys.js';
import { startFakeStripe, type FakeStripe } from './server.js';

interface ErrorJson {
  error: { message: string; type: string; code?: string; param?: string };
}
const errorOf = async (res: Response) => ((await res.json()) as ErrorJson).error;

/** The fake answers with Stripe's own shapes, so the SDK (and a reader) cannot tell it from Stripe. */
describe('fake Stripe server', () => {
  const price = makePriceId();
  let fake: FakeStripe;
  beforeEach(async () => {
    fake = await startFakeStripe({ prices: { [price]: { unit_amount: 4900, currency: 'eur' } } });
  });
  afterEach(() => fake.close());

  const get = (path: string, key?: string) =>
    fetch(`${fake.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const post = (path: string, key: string, form: Record<string, string>) =>
    fetch(`${fake.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  const checkoutForm = (extra: Record<string, string> = {}) => ({
    mode: 'payment',
    success_url: 'https://site.example.fr/?ok',
    'line_items[0][price_data][currency]': 'eur',
    'line_items[0][price_data][unit_amount]': '4900',
    'line_items[0][price_data][product_data][name]': 'Site launch (standard)',
    'line_items[0][quantity]': '1',
    'metadata[domain]': 'site.example.fr',
    ...extra,
  });

  it('GET /v1/balance answers a balance whose livemode follows the key', async () => {
    const test = await get('/v1/balance', makeKey('sk', 'test'));
    expect(test.status).toBe(200);
    expect(test.headers.get('request-id')).toMatch(/^req_[A-Za-z0-9]{14}$/);
    expect(await test.json()).toMatchObject({
      object: 'balance',
      livemode: false,
      available: [{ currency: 'usd' }],
    });
    const live = await get('/v1/balance', makeKey('rk', 'live'));
    expect(await live.json()).toMatchObject({ object: 'balance', livemode: true });
  });

  it('401s: no key, a malformed key (masked the way Stripe masks), a revoked key', async () => {
    const none = await get('/v1/balance');
    expect(none.status).toBe(401);
    expect((await errorOf(none)).message).toMatch(/^You did not provide an API key/);

    const bad = makeKey('pk'); // a publishable key is not a secret key
    const res = await get('/v1/balance', bad);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="Stripe"');
    expect(await res.json()).toEqual({
      error: {
        message: `Invalid API Key provided: pk_test_${'*'.repeat(bad.length - 12)}${bad.slice(-4)}`,
        type: 'invalid_request_error',
      },
    });

    const rolled = makeKey('sk');
    fake.revoke(rolled);
    const body = (await (await get('/v1/balance', rolled)).json()) as ErrorJson;
    expect(body.error).toMatchObject({
      code: 'api_key_expired',
      doc_url: 'https://stripe.com/docs/error-codes/api-key-expired',
      type: 'invalid_request_error',
    });
    expect(JSON.stringify(body)).not.toContain(rolled);
  });

  it('with `keys`, only the registered keys authenticate', async () => {
    const good = makeKey('sk');
    const only = await startFakeStripe({ keys: [good] });
    try {
      const auth = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
      expect((await fetch(`${only.url}/v1/balance`, auth(good))).status).toBe(200);
      expect((await fetch(`${only.url}/v1/balance`, auth(makeKey('sk')))).status).toBe(401);
    } finally {
      await only.close();
    }
  });

  it('POST /v1/checkout/sessions creates a session and records the parsed form, never the key', async () => {
    const key = makeKey('sk');
    const res = await post('/v1/checkout/sessions', key, checkoutForm());
    expect(res.status).toBe(200);
    const session = (await res.json()) as { id: string; url: string };
    expect(session).toMatchObject({
      object: 'checkout.session',
      id: expect.stringMatching(/^cs_test_[A-Za-z0-9]+$/),
      livemode: false,
      amount_total: 4900,
      currency: 'eur',
      metadata: { domain: 'site.example.fr' },
      status: 'open',
    });
    expect(session.url).toBe(`https://checkout.stripe.com/c/pay/${session.id}`);
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/checkout/sessions',
      keyFingerprint: fingerprint(key),
      keyLast4: key.slice(-4),
      form: {
        line_items: [
          { price_data: { unit_amount: '4900', product_data: { name: 'Site launch (standard)' } } },
        ],
      },
    });
    expect(JSON.stringify(fake.requests)).not.toContain(key);
  });

  it.each([
    ['no success_url', { success_url: '' }, 'parameter_invalid_empty', 'success_url'],
    [
      'an unknown price',
      { 'line_items[1][price]': 'price_nope', 'line_items[1][quantity]': '1' },
      'resource_missing',
      'line_items[1][price]',
    ],
    ['a bad URL', { cancel_url: 'not a url' }, 'url_invalid', 'cancel_url'],
    ['a typo', { success_uri: 'x' }, 'parameter_unknown', 'success_uri'],
  ])(
    'checkout with %s is a 400 invalid_request_error with code and param',
    async (_name, extra, code, param) => {
      const res = await post('/v1/checkout/sessions', makeKey('sk'), checkoutForm(extra));
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toMatchObject({ type: 'invalid_request_error', code, param });
    },
  );

  it('fault switches: 500 for the next request only, a closed socket, a hang until the client gives up', async () => {
    const key = makeKey('sk');
    fake.setMode('error500', 1);
    const failed = await get('/v1/balance', key);
    expect(failed.status).toBe(500);
    expect((await errorOf(failed)).type).toBe('api_error');
    expect((await get('/v1/balance', key)).status).toBe(200);

    fake.setMode('close');
    await expect(get('/v1/balance', key)).rejects.toThrow(TypeError);

    fake.setMode('hang');
    const abort = new AbortController();
    const seen = fake.requests.length;
    const pending = fetch(`${fake.url}/v1/balance`, { signal: abort.signal });
    await fake.waitForRequests(seen + 1);
    abort.abort();
    await expect(pending).rejects.toThrow(/abort/i);
  });

  it('anything else is a 404 unrecognized URL', async () => {
    const res = await get('/v1/customers', makeKey('sk'));
    expect(res.status).toBe(404);
    expect((await errorOf(res)).message).toMatch(/^Unrecognized request URL \(GET: \/v1\/customers\)/);
  });
});
