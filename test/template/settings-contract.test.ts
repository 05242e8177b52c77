import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { BACKENDS, startTestSite, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey, makePriceId, makeWebhookSecret } from '../helpers/keys.js';

const auth = { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' };

describe.each(BACKENDS)('template settings contract (%s)', (backend) => {
  let site: TestSite;
  beforeEach(async () => {
    site = await startTestSite({ backend });
  });
  afterEach(async () => site.close());

  const put = (name: string, value: unknown, headers: Record<string, string> = auth) =>
    site.app.inject({ method: 'PUT', url: settingPath(name), headers, payload: JSON.stringify({ value }) });

  it('answers 404 no_publishable_key before any push, with CORS *', async () => {
    const res = await site.app.inject({ url: ROUTES.stripePk });
    expect(res.statusCode).toBe(404);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.json()).toMatchObject({ success: false, error: 'no_publishable_key' });
  });

  it('stores a pushed publishable key and serves it as compact JSON on both read routes', async () => {
    const pk = makeKey('pk');
    const res = await put('stripe_publishable_key', pk);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('{"success":true,"message":"publishable_key_saved"}');
    for (const url of [ROUTES.stripePk, settingPath('stripe_publishable_key')]) {
      const read = await site.app.inject({ url });
      expect(read.statusCode).toBe(200);
      expect(read.body).toBe(`{"success":true,"publishable_key":"${pk}"}`);
      expect(read.headers['access-control-allow-origin']).toBe('*');
    }
  });

  it('saves a secret key but never reads it back', async () => {
    const sk = makeKey('sk');
    const res = await put('stripe_secret_key', sk);
    expect(res.body).toBe('{"success":true,"message":"secret_saved"}');
    const read = await site.app.inject({ url: settingPath('stripe_secret_key') });
    expect(read.statusCode).toBe(404);
    expect(read.json()).toMatchObject({ success: false, error: 'not_found' });
    expect(read.body).not.toContain(sk);
  });

  it('accepts restricted keys, webhook secrets and price ids in their formats', async () => {
    expect((await put('stripe_secret_key', makeKey('rk', 'live'))).statusCode).toBe(200);
    expect((await put('stripe_webhook_secret', makeWebhookSecret())).statusCode).toBe(200);
    expect((await put('stripe_price_id', makePriceId())).statusCode).toBe(200);
    const bad = await put('stripe_webhook_secret', 'wh_nope');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('invalid_webhook_secret_format');
    expect((await put('stripe_price_id', 'prod_123')).json().error).toBe('invalid_price_id_format');
  });

  it('refuses a wrong or missing X-API-Key with 401 invalid_api_key and writes nothing', async () => {
    const pk = makeKey('pk');
    const wrong = await put('stripe_publishable_key', pk, { ...auth, 'x-api-key': 'nope' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ success: false, error: 'invalid_api_key', message: expect.any(String) });
    const missing = await put('stripe_publishable_key', pk, { 'content-type': 'application/json' });
    expect(missing.statusCode).toBe(401);
    expect((await site.app.inject({ url: ROUTES.stripePk })).statusCode).toBe(404);
    const store = await site.db.open();
    expect(await store.getAll()).toEqual([]);
    await store.close();
  });

  it('refuses names outside the allowlist with 404 unknown_setting', async () => {
    for (const name of ['template_master_api_key', 'foo', 'stripe_secret_key_2']) {
      const res = await put(name, 'x');
      expect(res.statusCode, name).toBe(404);
      expect(res.json().error).toBe('unknown_setting');
    }
  });

  it('rejects whitespace instead of trimming it', async () => {
    for (const value of [` ${makeKey('pk')}`, `${makeKey('pk')} `, `${makeKey('pk')}\n`, 'pk_test_ab cd']) {
      const res = await put('stripe_publishable_key', value);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toBe('invalid_publishable_key_format');
    }
    expect((await put('stripe_secret_key', `${makeKey('sk')}\t`)).json().error).toBe('invalid_secret_format');
    expect((await put('stripe_secret_key', makeKey('pk'))).json().error).toBe('invalid_secret_format');
  });

  it('keeps every value across a restart', async () => {
    const keys = { pk: makeKey('pk'), sk: makeKey('sk'), wh: makeWebhookSecret(), price: makePriceId() };
    await put('stripe_publishable_key', keys.pk);
    await put('stripe_secret_key', keys.sk);
    await put('stripe_webhook_secret', keys.wh);
    await put('stripe_price_id', keys.price);
    const app = await site.restart();
    expect((await app.inject({ url: ROUTES.stripePk })).json().publishable_key).toBe(keys.pk);
    const health = await app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': MASTER_KEY } });
    const info = health.json().keys;
    expect(info.stripe_secret_key.fingerprint).toBe(fingerprint(keys.sk));
    expect(info.stripe_webhook_secret.fingerprint).toBe(fingerprint(keys.wh));
    expect(info.stripe_price_id.fingerprint).toBe(fingerprint(keys.price));
  });

  it('leaves exactly one of 200 concurrent writes, and audits all of them without values', async () => {
    const values = Array.from({ length: 200 }, () => makeKey('pk'));
    const results = await Promise.all(values.map((v) => put('stripe_publishable_key', v)));
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    const served = (await site.app.inject({ url: ROUTES.stripePk })).json().publishable_key;
    const store = await site.db.open();
    try {
      const row = await store.get('stripe_publishable_key');
      expect(values).toContain(row?.value);
      expect(served).toBe(row?.value);
      const audit = await store.listAudit(1000);
      expect(audit.filter((a) => a.key === 'stripe_publishable_key')).toHaveLength(200);
      const auditText = JSON.stringify(audit);
      expect(values.some((v) => auditText.includes(v))).toBe(false);
    } finally {
      await store.close();
    }
  });
});
