import { afterEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { buildTemplateApp } from '../../src/template/app.js';
import { openSettingsStore } from '../../src/store/open-settings-store.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { POSTGRES_TEST_URL, dropSchema, freshSchemaName } from '../helpers/postgres.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

describe('GET /api/health and /api/health/stripe', () => {
  let site: TestSite | undefined;
  afterEach(async () => {
    await site?.close();
    site = undefined;
  });

  const put = (name: string, value: string) =>
    site!.app.inject({
      method: 'PUT',
      url: settingPath(name),
      headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' },
      payload: JSON.stringify({ value }),
    });

  it('reports ok with the version and the database', async () => {
    site = await startTestSite();
    const ok = await site!.app.inject({ url: ROUTES.health });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/), database: 'ok' });
  });

  it('shows only booleans and the mode without a key, and fingerprints with one', async () => {
    const sk = makeKey('sk', 'live');
    const pk = makeKey('pk', 'live');
    site = await startTestSite();
    const empty = (await site!.app.inject({ url: ROUTES.healthStripe })).json();
    expect(empty).toEqual({ success: true, secret_key_configured: false, publishable_key_configured: false, environment: null });
    await put('stripe_secret_key', sk);
    await put('stripe_publishable_key', pk);
    const pub = await site!.app.inject({ url: ROUTES.healthStripe });
    expect(pub.json()).toEqual({ success: true, secret_key_configured: true, publishable_key_configured: true, environment: 'live' });
    const authed = (await site!.app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': MASTER_KEY } })).json();
    expect(authed.authenticated).toBe(true);
    expect(authed.keys.stripe_secret_key).toEqual({
      fingerprint: fingerprint(sk),
      last4: sk.slice(-4),
      mode: 'live',
      source: 'settings',
      shadows_env: false,
      updated_at: expect.any(String),
    });
    expect(authed.keys.stripe_webhook_secret).toBeNull();
    // Public settings carry their value (one request tells the CLI everything); secrets never do.
    expect(authed.keys.stripe_publishable_key.value).toBe(pk);
    expect(authed.keys.stripe_secret_key).not.toHaveProperty('value');
    expect(JSON.stringify(authed)).not.toContain(sk);
  });

  it('falls back to the environment, and shows a pushed value shadowing it', async () => {
    const envSk = makeKey('sk');
    const envPk = makeKey('pk');
    site = await startTestSite({ config: { env: { STRIPE_SECRET_KEY: envSk, STRIPE_PUBLISHABLE_KEY: envPk } } });
    expect((await site!.app.inject({ url: ROUTES.stripePk })).json().publishable_key).toBe(envPk);
    let keys = (await site!.app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': MASTER_KEY } })).json().keys;
    expect(keys.stripe_secret_key).toMatchObject({ source: 'env', fingerprint: fingerprint(envSk), updated_at: null });
    const pushed = makeKey('sk');
    await put('stripe_secret_key', pushed);
    keys = (await site!.app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': MASTER_KEY } })).json().keys;
    expect(keys.stripe_secret_key).toMatchObject({ source: 'settings', fingerprint: fingerprint(pushed), shadows_env: true });
  });

  it('answers 503 database error when Postgres goes away', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
    const schema = freshSchemaName();
    const url = new URL(POSTGRES_TEST_URL);
    url.host = `127.0.0.1:${proxy.port}`;
    const store = await openSettingsStore(url.toString(), { schema });
    const app = await buildTemplateApp({ store, logStream: false, config: { masterKeys: [MASTER_KEY] } });
    try {
      expect((await app.inject({ url: ROUTES.health })).statusCode).toBe(200);
      await proxy.stop();
      const res = await app.inject({ url: ROUTES.health });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'error', database: 'error' });
    } finally {
      await app.close();
      await store.close().catch(() => undefined);
      await dropSchema(schema);
    }
  });
});
