import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { startTestSite, testDatabase, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

/** Several template instances on one Postgres see each other's writes at once (LISTEN/NOTIFY). */
describe('two template instances on one Postgres', () => {
  const db = testDatabase('postgres');
  let a: TestSite;
  let b: TestSite;
  beforeAll(async () => {
    a = await startTestSite({ db });
    b = await startTestSite({ db });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await db.cleanup();
  });

  const put = (site: TestSite, name: string, value: string) =>
    site.app.inject({
      method: 'PUT',
      url: settingPath(name),
      headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' },
      payload: JSON.stringify({ value }),
    });

  it('a publishable key pushed to one is served by the other', async () => {
    const pk = makeKey('pk');
    expect((await put(a, 'stripe_publishable_key', pk)).statusCode).toBe(200);
    // The notification is asynchronous by nature; wait for it, bounded.
    await vi.waitFor(async () => expect((await b.app.inject({ url: ROUTES.stripePk })).json().publishable_key).toBe(pk), {
      timeout: 3000,
      interval: 10,
    });
  });

  it('the last of interleaved writes on both wins everywhere', async () => {
    const values = Array.from({ length: 20 }, () => makeKey('pk'));
    await Promise.all(values.map((v, i) => put(i % 2 ? a : b, 'stripe_publishable_key', v)));
    const store = await db.open();
    const final = (await store.get('stripe_publishable_key'))?.value;
    await store.close();
    for (const site of [a, b]) {
      await vi.waitFor(async () => expect((await site.app.inject({ url: ROUTES.stripePk })).json().publishable_key).toBe(final), {
        timeout: 3000,
        interval: 10,
      });
    }
  });

  it('a rotated site key is accepted by the other instance', async () => {
    const key = 'rotated-key-0123456789abcdefghijklmnopqrstu';
    const rotate = await a.app.inject({
      method: 'POST',
      url: ROUTES.rotateCredentials,
      headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' },
      payload: JSON.stringify({ new_key: key }),
    });
    expect(rotate.statusCode).toBe(200);
    let attempt = 0;
    await vi.waitFor(
      async () => {
        // Each poll from its own address, so polling cannot trip the failed-auth limiter.
        const remoteAddress = `10.0.${Math.floor(attempt / 250)}.${attempt++ % 250}`;
        const res = await b.app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': key }, remoteAddress });
        expect(res.statusCode).toBe(200);
      },
      { timeout: 3000, interval: 10 },
    );
  });
});
