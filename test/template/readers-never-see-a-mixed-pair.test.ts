import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { ROUTES } from '../../src/protocol/routes.js';
import { startFakeStripe, type FakeStripe } from '../fake-stripe/server.js';
import { BACKENDS, startTestSite, testDatabase, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey, makePriceId } from '../helpers/keys.js';

const WRITES = 100;
const READERS = 3;

interface Pair {
  pk: string;
  sk: string;
  price: string;
}

/** Alternating test/live pairs, each value fresh, so every observed value names the write it came from. */
function makePairs(n: number): Pair[] {
  return Array.from({ length: n }, (_, i) => {
    const mode = i % 2 ? 'live' : 'test';
    return { pk: makeKey('pk', mode), sk: makeKey('sk', mode), price: makePriceId() };
  });
}

const baseOf = (site: TestSite) => `http://127.0.0.1:${(site.app.server.address() as AddressInfo).port}`;

/**
 * Issue 10: while atomic writes switch the pair back and forth, no reader — /api/stripe-pk (the
 * fast path), the authenticated key view, checkout — ever sees a publishable key of one write with
 * a secret key (or price) of another. Writes and reads are bounded in count, never in time.
 */
async function hammer(writer: TestSite, readers: TestSite[], pairs: Pair[], stripe: FakeStripe, earlier: Pair[] = []) {
  // The last pair an earlier run wrote is what readers see first.
  const known = [...earlier, ...pairs];
  const byPk = new Map(known.map((p) => [p.pk, p]));
  const bySkFp = new Map(known.map((p) => [fingerprint(p.sk), p]));
  const byPrice = new Map<string, Pair>();
  for (const p of known) byPrice.set(p.price, p);
  const mixed: string[] = [];
  let observations = 0;
  let done = false;

  const writes = (async () => {
    for (const p of pairs) {
      const res = await fetch(`${baseOf(writer)}${ROUTES.settings}`, {
        method: 'PUT',
        headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ values: { stripe_publishable_key: p.pk, stripe_secret_key: p.sk, stripe_price_id: p.price } }),
      });
      expect(res.status).toBe(200);
      const view = (await res.json()) as { keys: Record<string, { value?: string; fingerprint: string }> };
      expect(view.keys.stripe_publishable_key?.value).toBe(p.pk);
    }
    done = true;
  })();

  const readLoop = async (site: TestSite) => {
    const base = baseOf(site);
    while (!done) {
      const pk = ((await (await fetch(`${base}${ROUTES.stripePk}`)).json()) as { publishable_key?: string }).publishable_key;
      if (pk !== undefined && !byPk.has(pk)) mixed.push(`unknown pk from ${ROUTES.stripePk}`);
      const view = (await (await fetch(`${base}${ROUTES.healthStripe}`, { headers: { 'x-api-key': MASTER_KEY } })).json()) as {
        keys: Record<string, { value?: string; fingerprint: string; mode: string } | null>;
        environment: string | null;
      };
      const k = view.keys;
      if (k.stripe_publishable_key && k.stripe_secret_key) {
        observations++;
        const pair = byPk.get(k.stripe_publishable_key.value ?? '');
        if (!pair || bySkFp.get(k.stripe_secret_key.fingerprint) !== pair || byPrice.get(k.stripe_price_id?.value ?? '') !== pair) {
          mixed.push(`key view: pk ${k.stripe_publishable_key.mode} with sk ${k.stripe_secret_key.mode}`);
        }
      }
      const before = stripe.requests.length;
      const launch = await fetch(`${base}${ROUTES.launch}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ domain: 'shop.example.fr', email: 'owner@example.fr', type: 'standard' }),
      });
      if (launch.status === 200) {
        // Checkout's Stripe call: the secret key and the price it sent come from one write.
        const call = stripe.requests.slice(before).find((r) => r.path === '/v1/checkout/sessions');
        const price = JSON.stringify(call?.form ?? {}).match(/price_[A-Za-z0-9]+/)?.[0];
        if (call && price && bySkFp.get(call.keyFingerprint ?? '') !== byPrice.get(price)) mixed.push('checkout: sk and price of two writes');
      }
    }
  };

  await Promise.all([writes, ...readers.flatMap((site) => Array.from({ length: READERS }, () => readLoop(site)))]);
  return { mixed, observations };
}

describe.each(BACKENDS)('readers during atomic writes of alternating pairs (%s, one instance)', (backend) => {
  let site: TestSite;
  let stripe: FakeStripe;
  const pairs = makePairs(WRITES);
  beforeAll(async () => {
    stripe = await startFakeStripe({ prices: Object.fromEntries(pairs.map((p) => [p.price, { unit_amount: 4900, currency: 'eur' }])) });
    site = await startTestSite({ backend, config: { stripeApiBase: stripe.url, publicUrl: 'https://site.example.fr', checkoutPerMinute: 1_000_000 } });
    await site.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await site.close();
    await stripe.close();
  });

  it('never observe a mixed pair', async () => {
    const { mixed, observations } = await hammer(site, [site], pairs, stripe);
    expect(mixed).toEqual([]);
    expect(observations).toBeGreaterThan(0);
  });
});

describe('readers during atomic writes of alternating pairs (two instances on one Postgres)', () => {
  const db = testDatabase('postgres');
  let a: TestSite;
  let b: TestSite;
  let stripe: FakeStripe;
  const pairs = makePairs(WRITES);
  const pairs2 = makePairs(WRITES);
  beforeAll(async () => {
    stripe = await startFakeStripe({
      prices: Object.fromEntries([...pairs, ...pairs2].map((p) => [p.price, { unit_amount: 4900, currency: 'eur' }])),
    });
    const config = { stripeApiBase: stripe.url, publicUrl: 'https://site.example.fr', checkoutPerMinute: 1_000_000 };
    a = await startTestSite({ db, config });
    b = await startTestSite({ db, config });
    await a.app.listen({ port: 0, host: '127.0.0.1' });
    await b.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await stripe.close();
    await db.cleanup();
  });

  it('never observe a mixed pair on either instance, with read-after-write on (the Postgres default)', async () => {
    const { mixed, observations } = await hammer(a, [a, b], pairs, stripe);
    expect(mixed).toEqual([]);
    expect(observations).toBeGreaterThan(0);
  });

  it('nor with read-after-write off (the cache follows the notifications alone)', async () => {
    await b.restart({ readAfterWrite: false });
    await b.app.listen({ port: 0, host: '127.0.0.1' });
    const { mixed, observations } = await hammer(a, [b], pairs2, stripe, pairs);
    expect(mixed).toEqual([]);
    expect(observations).toBeGreaterThan(0);
  });
});
