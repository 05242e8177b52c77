import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { startTestSite, testDatabase, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

const WRITES = 200;
const headers = { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' };

/**
 * Issue 14 point 4: with TEMPLATE_READ_AFTER_WRITE on (the Postgres default), a read through
 * instance B right after a write through A answered returns that write — on the fast path
 * (/api/stripe-pk on a real port) and in the key view — for each of 200 writes, per-setting and atomic.
 */
describe('read-after-write across two instances on one Postgres', () => {
  const db = testDatabase('postgres');
  let a: TestSite;
  let b: TestSite;
  let baseA: string;
  let baseB: string;
  beforeAll(async () => {
    a = await startTestSite({ db });
    b = await startTestSite({ db });
    for (const site of [a, b]) await site.app.listen({ port: 0, host: '127.0.0.1' });
    baseA = `http://127.0.0.1:${(a.app.server.address() as AddressInfo).port}`;
    baseB = `http://127.0.0.1:${(b.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await db.cleanup();
  });

  it('serves every one of 200 writes through A on B at once', async () => {
    const stale: string[] = [];
    for (let i = 0; i < WRITES; i++) {
      const mode = i % 2 ? 'live' : 'test';
      const pk = makeKey('pk', mode);
      const sk = makeKey('sk', mode);
      const atomic = i % 2 === 0;
      const res = atomic
        ? await fetch(`${baseA}${ROUTES.settings}`, {
            method: 'PUT',
            headers,
            body: JSON.stringify({ values: { stripe_publishable_key: pk, stripe_secret_key: sk } }),
          })
        : await fetch(`${baseA}${settingPath('stripe_publishable_key')}`, { method: 'PUT', headers, body: JSON.stringify({ value: pk }) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const served = ((await (await fetch(`${baseB}${ROUTES.stripePk}`)).json()) as { publishable_key: string }).publishable_key;
      if (served !== pk) stale.push(`write ${i}: /api/stripe-pk`);
      if (atomic) {
        const view = (await (await fetch(`${baseB}${ROUTES.healthStripe}`, { headers: { 'x-api-key': MASTER_KEY } })).json()) as {
          keys: Record<string, { fingerprint: string } | null>;
        };
        if (view.keys.stripe_secret_key?.fingerprint !== fingerprint(sk)) stale.push(`write ${i}: key view`);
      }
    }
    expect(stale).toEqual([]);
  });

  it('accepts on B a key rotated through A the moment the rotation answered, and confirms it there', async () => {
    for (let i = 0; i < 20; i++) {
      const key = `rotated-${i}-${makeKey('pk').slice(8)}`;
      const rotate = await fetch(`${baseA}${ROUTES.rotateCredentials}`, { method: 'POST', headers, body: JSON.stringify({ new_key: key }) });
      expect(rotate.status).toBe(200);
      const confirm = await fetch(`${baseB}${ROUTES.confirmCredentials}`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(confirm.status, `rotation ${i}`).toBe(200);
      // The master key keeps working (not retired), for the next round.
    }
  });

  it('is on by default on Postgres only, and TEMPLATE_READ_AFTER_WRITE=off turns it off', async () => {
    expect(b.app.hasRoute({ method: 'GET', url: ROUTES.stripePk })).toBe(true);
    const { templateConfigFromEnv, ConfigError } = await import('../../src/template/config.js');
    expect(templateConfigFromEnv({}).readAfterWrite).toBeUndefined();
    expect(templateConfigFromEnv({ TEMPLATE_READ_AFTER_WRITE: 'off' }).readAfterWrite).toBe(false);
    expect(templateConfigFromEnv({ TEMPLATE_READ_AFTER_WRITE: 'on' }).readAfterWrite).toBe(true);
    expect(() => templateConfigFromEnv({ TEMPLATE_READ_AFTER_WRITE: 'maybe' })).toThrow(ConfigError);
    expect(() => templateConfigFromEnv({ TEMPLATE_READ_AFTER_WRITE: 'maybe' })).toThrow(/on or off/);
  });
});
