import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { templatePlugin } from '../../src/template/plugin.js';
import { templateConfigFromEnv } from '../../src/template/config.js';
import { startTestSite, testDatabase, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

describe('metrics, OpenAPI and mounting as a plugin', () => {
  let site: TestSite | undefined;
  afterEach(async () => {
    await site?.close();
    site = undefined;
  });

  it('exposes Prometheus metrics without values, behind a token when METRICS_TOKEN is set', async () => {
    site = await startTestSite({ config: { metricsToken: 'metrics-token' } });
    const sk = makeKey('sk');
    await site.app.inject({
      method: 'PUT',
      url: settingPath('stripe_secret_key'),
      headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' },
      payload: JSON.stringify({ value: sk }),
    });
    expect((await site.app.inject({ url: ROUTES.metrics })).statusCode).toBe(401);
    const res = await site.app.inject({ url: ROUTES.metrics, headers: { authorization: 'Bearer metrics-token' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('keyfleet_template_setting_updates_total{setting="stripe_secret_key"} 1');
    expect(res.body).toMatch(/keyfleet_template_http_requests_total\{route="\/api\/export\/settings\/:name",status="200"\} 1/);
    expect(res.body).not.toContain(sk);
  });

  it('serves an OpenAPI document generated from the route schemas', async () => {
    site = await startTestSite();
    const doc = (await site.app.inject({ url: ROUTES.openapi })).json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/api/stripe-pk', '/api/export/settings/{name}', '/api/health/stripe', '/saas_launch_site', '/api/export/credentials/rotate']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const putBody = doc.paths['/api/export/settings/{name}'].put.requestBody.content['application/json'].schema;
    expect(putBody.properties.value.type).toBe('string');
    const launch = doc.paths['/saas_launch_site'].post.requestBody.content['application/json'].schema;
    expect(launch.required).toEqual(expect.arrayContaining(['domain', 'email', 'type']));
  });

  it('mounts into an existing Fastify app beside its own routes', async () => {
    const db = testDatabase('sqlite');
    const store = await db.open();
    const host = Fastify();
    host.get('/own', async () => ({ mine: true }));
    await host.register(templatePlugin, { config: { ...templateConfigFromEnv({}), masterKeys: [MASTER_KEY] }, store, ownsStore: true });
    await host.ready();
    try {
      expect((await host.inject({ url: '/own' })).json()).toEqual({ mine: true });
      const pk = makeKey('pk');
      const put = await host.inject({
        method: 'PUT',
        url: settingPath('stripe_publishable_key'),
        headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' },
        payload: JSON.stringify({ value: pk }),
      });
      expect(put.statusCode).toBe(200);
      expect((await host.inject({ url: ROUTES.stripePk })).json().publishable_key).toBe(pk);
    } finally {
      await host.close();
      await db.cleanup();
    }
  });

  it('sends security headers', async () => {
    site = await startTestSite();
    const res = await site.app.inject({ url: ROUTES.home });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    // Regression: on a plain-http site this directive sent browsers to https for the page's own assets.
    expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(res.headers['x-frame-options']).toBeDefined();
    expect(res.body).toContain('Launch your site');
    // JSON answers carry the API set: no sniffing, nothing renders or frames them.
    const api = await site.app.inject({ url: ROUTES.health });
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    expect(api.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(api.headers['referrer-policy']).toBe('no-referrer');
  });
});
