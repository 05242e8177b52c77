import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../../src/protocol/bodies.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { BACKENDS, startTestSite, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey, makePriceId, makeWebhookSecret } from '../helpers/keys.js';

const auth = { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' };

/** Issue 10, template side: PUT /api/export/settings writes a key pair in one transaction. */
describe.each(BACKENDS)('the atomic write PUT /api/export/settings (%s)', (backend) => {
  let site: TestSite;
  beforeEach(async () => {
    site = await startTestSite({ backend });
  });
  afterEach(async () => site.close());

  const putAll = (values: unknown, headers: Record<string, string> = auth) =>
    site.app.inject({ method: 'PUT', url: ROUTES.settings, headers, payload: JSON.stringify({ values }) });
  const putOne = (name: string, value: string) =>
    site.app.inject({ method: 'PUT', url: settingPath(name), headers: auth, payload: JSON.stringify({ value }) });
  const keyView = async () => (await site.app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': MASTER_KEY } })).json();
  const auditCount = async () => (await site.app.inject({ url: ROUTES.healthStripe })).statusCode && (await auditRows()).length;
  const auditRows = async () => {
    const store = await site.db.open();
    try {
      return await store.listAudit(1000);
    } finally {
      await store.close();
    }
  };

  it('lists atomic_write in the authenticated key view, next to keys, and not in the public one', async () => {
    const view = await keyView();
    expect(view.capabilities).toEqual([CAPABILITIES.atomicWrite]);
    expect(view).toHaveProperty('keys');
    const anonymous = (await site.app.inject({ url: ROUTES.healthStripe })).json();
    expect(anonymous).not.toHaveProperty('capabilities');
  });

  it('is documented in the OpenAPI document the site serves', async () => {
    const doc = (await site.app.inject({ url: ROUTES.openapi })).json();
    const op = doc.paths[ROUTES.settings]?.put;
    expect(op).toBeDefined();
    expect(op.requestBody.content['application/json'].schema.properties).toHaveProperty('values');
    expect(op.description).toMatch(/one transaction/);
    expect(op.description).toMatch(/mixed_key_modes/);
    expect(op.description).toMatch(/atomic_write/);
    expect(op.security).toEqual([{ apiKey: [] }]);
  });

  it('writes every value in one request and answers the key view as committed', async () => {
    const pk = makeKey('pk', 'live');
    const sk = makeKey('sk', 'live');
    const webhook = makeWebhookSecret();
    const price = makePriceId();
    const res = await putAll({ stripe_publishable_key: pk, stripe_secret_key: sk, stripe_webhook_secret: webhook, stripe_price_id: price });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      success: true,
      authenticated: true,
      environment: 'live',
      secret_key_configured: true,
      publishable_key_configured: true,
      capabilities: ['atomic_write'],
    });
    expect(body.keys.stripe_publishable_key).toMatchObject({ value: pk, fingerprint: fingerprint(pk), mode: 'live', source: 'settings' });
    expect(body.keys.stripe_secret_key).toMatchObject({ fingerprint: fingerprint(sk), mode: 'live', source: 'settings' });
    expect(body.keys.stripe_secret_key).not.toHaveProperty('value');
    expect(body.keys.stripe_webhook_secret.fingerprint).toBe(fingerprint(webhook));
    expect(body.keys.stripe_price_id.value).toBe(price);
    // Every value carries the commit's one timestamp, and the answer is what a read shows afterwards.
    const stamps = new Set(Object.values(body.keys as Record<string, { updated_at: string }>).map((k) => k.updated_at));
    expect(stamps.size).toBe(1);
    expect(await keyView()).toEqual(body);
    expect((await site.app.inject({ url: ROUTES.stripePk })).json().publishable_key).toBe(pk);
    // One audit row per value, fingerprints only.
    const audit = await auditRows();
    expect(audit.map((a) => a.key).sort()).toEqual(['stripe_price_id', 'stripe_publishable_key', 'stripe_secret_key', 'stripe_webhook_secret']);
    expect(audit.find((a) => a.key === 'stripe_secret_key')?.fingerprint).toBe(fingerprint(sk));
    // The secret is in no answer and no log line.
    expect(res.body).not.toContain(sk);
    expect(site.logs.text()).not.toContain(sk);
    expect(site.logs.text()).not.toContain(webhook);
  });

  it('refuses the whole write when one value is invalid, naming the setting, and writes nothing', async () => {
    const pk = makeKey('pk');
    const sk = makeKey('sk');
    expect((await putAll({ stripe_publishable_key: pk, stripe_secret_key: sk })).statusCode).toBe(200);
    const before = await keyView();
    const audited = (await auditRows()).length;

    const badSk = await putAll({ stripe_publishable_key: makeKey('pk'), stripe_secret_key: 'sk_test_has space' });
    expect(badSk.statusCode).toBe(400);
    expect(badSk.json()).toMatchObject({ success: false, error: 'invalid_secret_format', setting: 'stripe_secret_key' });

    const badPrice = await putAll({ stripe_price_id: 'prod_123', stripe_publishable_key: makeKey('pk') });
    expect(badPrice.json()).toMatchObject({ error: 'invalid_price_id_format', setting: 'stripe_price_id' });

    const unknown = await putAll({ stripe_publishable_key: makeKey('pk'), admin_password: 'x' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ error: 'unknown_setting', setting: 'admin_password' });

    // A secret sent as a name is not reflected whole.
    const lowerSecret = `sk_live_${'q'.repeat(30)}`;
    const asName = await putAll({ [lowerSecret]: 'x' });
    expect(asName.json().error).toBe('unknown_setting');
    expect(asName.body).not.toContain(lowerSecret);

    const tooLong = await putAll({ stripe_secret_key: `sk_test_${'a'.repeat(5000)}` });
    expect(tooLong.json()).toMatchObject({ error: 'invalid_secret_format', setting: 'stripe_secret_key' });

    expect(await keyView()).toEqual(before);
    expect((await auditRows()).length).toBe(audited);
  });

  it('answers 400 with what to send for empty or malformed values', async () => {
    const empty = await putAll({});
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error).toBe('invalid_request');
    expect(empty.json().message).toMatch(/values is empty.*stripe_publishable_key/);
    for (const payload of ['{}', '{"values":[]}', '{"values":{"stripe_secret_key":5}}', '{"value":"pk_test_x"}']) {
      const res = await site.app.inject({ method: 'PUT', url: ROUTES.settings, headers: auth, payload });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().error).toBe('invalid_request');
    }
  });

  it('refuses a missing or wrong X-API-Key before looking at the body', async () => {
    const pk = makeKey('pk');
    const res = await putAll({ stripe_publishable_key: pk }, { 'content-type': 'application/json', 'x-api-key': 'wrong-key-0123456789abcdefghijklmnop' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toBe('invalid_api_key');
    const garbage = await site.app.inject({ method: 'PUT', url: ROUTES.settings, headers: { 'content-type': 'application/json' }, payload: '{"values":5}' });
    expect(garbage.statusCode).toBe(401);
    expect((await site.app.inject({ url: ROUTES.stripePk })).statusCode).toBe(404);
  });

  it('refuses a test/live mixed pair, merged with the stored values, with mixed_key_modes', async () => {
    const skTest = makeKey('sk', 'test');
    const pkTest = makeKey('pk', 'test');
    expect((await putAll({ stripe_publishable_key: pkTest, stripe_secret_key: skTest })).statusCode).toBe(200);
    const before = await keyView();

    const live = await putAll({ stripe_publishable_key: makeKey('pk', 'live') });
    expect(live.statusCode).toBe(400);
    expect(live.json()).toMatchObject({ error: 'mixed_key_modes', setting: 'stripe_publishable_key' });
    expect(live.json().message).toMatch(/publishable key would be live and the secret key test/);

    const skOnly = await putAll({ stripe_secret_key: makeKey('rk', 'live') });
    expect(skOnly.json()).toMatchObject({ error: 'mixed_key_modes', setting: 'stripe_secret_key' });

    const bothMixed = await putAll({ stripe_publishable_key: makeKey('pk', 'live'), stripe_secret_key: makeKey('sk', 'test') });
    expect(bothMixed.json().error).toBe('mixed_key_modes');
    expect(await keyView()).toEqual(before);

    // A whole pair switches test → live in one write.
    const pkLive = makeKey('pk', 'live');
    const switched = await putAll({ stripe_publishable_key: pkLive, stripe_secret_key: makeKey('sk', 'live') });
    expect(switched.statusCode).toBe(200);
    expect(switched.json().environment).toBe('live');
    expect((await site.app.inject({ url: ROUTES.stripePk })).json().publishable_key).toBe(pkLive);
  });

  it('leaves the per-setting PUTs as they were (the seed scripts push one key at a time)', async () => {
    expect((await putOne('stripe_secret_key', makeKey('sk', 'test'))).statusCode).toBe(200);
    expect((await putOne('stripe_publishable_key', makeKey('pk', 'live'))).json()).toEqual({ success: true, message: 'publishable_key_saved' });
    expect(await auditCount()).toBe(2);
  });

  it('mixes with the environment fallback too: a pushed value is checked against the key in effect', async () => {
    await site.restart({ env: { STRIPE_SECRET_KEY: makeKey('sk', 'live') } });
    const res = await putAll({ stripe_publishable_key: makeKey('pk', 'test') });
    expect(res.json()).toMatchObject({ error: 'mixed_key_modes', setting: 'stripe_publishable_key' });
    expect((await putAll({ stripe_publishable_key: makeKey('pk', 'live') })).statusCode).toBe(200);
  });

  it('stores the secret sealed when an encryption key is set, and answers the same view', async () => {
    await site.restart({ encryptionKey: Buffer.alloc(32, 7).toString('base64') });
    const sk = makeKey('sk');
    const res = await putAll({ stripe_secret_key: sk, stripe_publishable_key: makeKey('pk') });
    expect(res.statusCode).toBe(200);
    const store = await site.db.open();
    const row = await store.get('stripe_secret_key');
    await store.close();
    expect(row?.value).not.toContain(sk);
    expect(res.json().keys.stripe_secret_key.fingerprint).toBe(fingerprint(sk));
  });
});
