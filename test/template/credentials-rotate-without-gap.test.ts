import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

const K1 = 'site-key-one-0123456789abcdefghijklmnopqrstuv';
const K2 = 'site-key-two-0123456789abcdefghijklmnopqrstuv';

describe('per-site credentials: rotate, then confirm with the new key', () => {
  let site: TestSite;
  beforeEach(async () => {
    site = await startTestSite();
  });
  afterEach(async () => site.close());

  const call = (url: string, key: string, body: unknown = {}) =>
    site.app.inject({ method: 'POST', url, headers: { 'x-api-key': key, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  const canPush = async (key: string) =>
    (
      await site.app.inject({
        method: 'PUT',
        url: settingPath('stripe_publishable_key'),
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        payload: JSON.stringify({ value: makeKey('pk') }),
      })
    ).statusCode === 200;

  it('accepts old and new key between rotate and confirm, then only the new one', async () => {
    expect((await call(ROUTES.rotateCredentials, MASTER_KEY, { new_key: K1 })).json()).toEqual({ success: true, message: 'key_rotated' });
    expect(await canPush(MASTER_KEY)).toBe(true);
    expect(await canPush(K1)).toBe(true);
    // Confirming is only possible with the new key itself.
    expect((await call(ROUTES.confirmCredentials, MASTER_KEY)).json().error).toBe('no_pending_key');
    expect((await call(ROUTES.confirmCredentials, K1)).statusCode).toBe(200);
    expect(await canPush(K1)).toBe(true);

    expect((await call(ROUTES.rotateCredentials, K1, { new_key: K2 })).statusCode).toBe(200);
    expect(await canPush(K1)).toBe(true);
    expect(await canPush(K2)).toBe(true);
    expect((await call(ROUTES.confirmCredentials, K2)).statusCode).toBe(200);
    expect(await canPush(K1)).toBe(false);
    expect(await canPush(K2)).toBe(true);
    expect(await canPush(MASTER_KEY)).toBe(true);
  });

  it('retires the shared master key when confirm asks for it, and survives a restart', async () => {
    await call(ROUTES.rotateCredentials, MASTER_KEY, { new_key: K1 });
    expect((await call(ROUTES.confirmCredentials, K1, { retire_shared_key: true })).statusCode).toBe(200);
    expect(await canPush(MASTER_KEY)).toBe(false);
    await site.restart();
    expect(await canPush(MASTER_KEY)).toBe(false);
    expect(await canPush(K1)).toBe(true);
  });

  it('confirm is idempotent for the current key', async () => {
    await call(ROUTES.rotateCredentials, MASTER_KEY, { new_key: K1 });
    expect((await call(ROUTES.confirmCredentials, K1)).statusCode).toBe(200);
    expect((await call(ROUTES.confirmCredentials, K1)).statusCode).toBe(200);
  });

  it('stores only a hash of the site key, and audits by fingerprint', async () => {
    await call(ROUTES.rotateCredentials, MASTER_KEY, { new_key: K1 });
    await call(ROUTES.confirmCredentials, K1);
    const store = await site.db.open();
    try {
      const dump = JSON.stringify([await store.getAll(), await store.listAudit(100)]);
      expect(dump).not.toContain(K1);
      expect(dump).toContain('template_master_api_key');
    } finally {
      await store.close();
    }
  });
});
