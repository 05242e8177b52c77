import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

describe('the sites API', () => {
  let d: TestDashboard;
  beforeEach(async () => {
    d = await startTestDashboard({ env: { KEYFLEET_SITE_KEY_SHOP: 'shop-own-key-0123456789abcdef' } });
  });
  afterEach(() => d.close());

  const add = (body: unknown) => d.call({ url: DASHBOARD_ROUTES.sites, body });
  const list = async (query = '') =>
    (await d.call({ url: `${DASHBOARD_ROUTES.sites}${query}` })).json().sites as Array<
      Record<string, unknown>
    >;

  it('adds a site with its URL normalised like the CLI does, and refuses what the CLI refuses', async () => {
    const res = await add({ url: ' HTTPS://Shop.Example.fr/ ', tags: ['eu'] });
    expect(res.statusCode).toBe(201);
    expect(res.json().site).toMatchObject({
      url: 'https://shop.example.fr',
      name: 'shop.example.fr',
      tags: ['eu'],
      has_api_key: false,
      health: null,
      drift: 'unknown',
      desired: { version_id: null },
    });
    expect((await add({ url: 'https://shop.example.fr' })).json()).toMatchObject({ error: 'site_exists' });
    expect((await add({ url: 'https://other.example.fr', name: 'shop.example.fr' })).statusCode).toBe(409);
    for (const url of [
      'http://shop2.example.fr',
      'https://shop.example.fr/api',
      'shop.example.fr',
      'https://u:p@x.example.fr',
    ]) {
      expect((await add({ url })).json(), url).toMatchObject({ error: 'invalid_site_url' });
    }
    expect((await add({ url: 'https://x.example.fr', tags: ['no spaces'] })).json()).toMatchObject({
      error: 'invalid_request',
    });
    expect((await add({ url: 'https://x.example.fr', api_key: 'short' })).json()).toMatchObject({
      error: 'invalid_request',
    });
  });

  it('filters by tag, changes a site, and removes it', async () => {
    const a = (await add({ url: 'https://a.example.fr', tags: ['eu'] })).json().site;
    await add({ url: 'https://b.example.fr', tags: ['us'] });
    expect((await list('?tag=eu')).map((s) => s.id)).toEqual([a.id]);
    expect(await list('?tag=eu,us')).toHaveLength(2);
    expect(await list('?problem=unchecked')).toHaveLength(2);
    expect(await list('?problem=any')).toHaveLength(0);

    const url = dashboardPath(DASHBOARD_ROUTES.site, { id: a.id });
    const patched = await d.call({
      method: 'PATCH',
      url,
      body: { name: 'alpha', tags: ['eu', 'beta'], api_key: 'a-site-key-0123456789abcdef' },
    });
    expect(patched.json().site).toMatchObject({ name: 'alpha', tags: ['eu', 'beta'], has_api_key: true });
    expect((await d.call({ method: 'PATCH', url, body: { desired_version: 'v9' } })).json()).toMatchObject({
      error: 'key_version_not_found',
    });
    // By name as well as by id.
    expect(
      (await d.call({ method: 'DELETE', url: dashboardPath(DASHBOARD_ROUTES.site, { id: 'alpha' }) })).json(),
    ).toEqual({ success: true, id: a.id });
    expect((await d.call({ method: 'DELETE', url })).json()).toMatchObject({ error: 'site_not_found' });
    expect((await list()).map((s) => s.url)).toEqual(['https://b.example.fr']);
    const actions = (await d.call({ url: DASHBOARD_ROUTES.audit }))
      .json()
      .entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['site.remove', 'site.update', 'site.add', 'site.add']);
  });

  it("imports the seed's sites file: comments, blank lines and duplicates handled, existing sites skipped", async () => {
    await add({ url: 'https://a.example.fr' });
    const content =
      '# fleet\nhttps://a.example.fr\n\nhttps://b.example.fr  # blog\nhttps://c.example.fr/\nhttps://b.example.fr\n';
    const res = await d.call({ url: DASHBOARD_ROUTES.importSites, body: { content, tags: ['imported'] } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.added.map((s: { url: string }) => s.url)).toEqual([
      'https://b.example.fr',
      'https://c.example.fr',
    ]);
    expect(body.added[0]).toMatchObject({ source: 'import', tags: ['imported'] });
    expect(body.skipped).toEqual([
      { url: 'https://a.example.fr', reason: expect.stringMatching(/already exists/) },
    ]);
    expect(body.warnings).toEqual([expect.stringMatching(/duplicate/)]);
  });

  it('imports the YAML inventory with tags and a per-site key read from the environment', async () => {
    const content = [
      'sites:',
      '  - url: https://shop.example.fr',
      '    name: shop',
      '    tags: [production, eu]',
      '    api_key_env: KEYFLEET_SITE_KEY_SHOP',
      '  - url: https://blog.example.fr',
      '    api_key_env: KEYFLEET_SITE_KEY_BLOG',
    ].join('\n');
    const body = (
      await d.call({ url: DASHBOARD_ROUTES.importSites, body: { format: 'yaml', content } })
    ).json();
    expect(body.added).toMatchObject([
      { name: 'shop', tags: ['production', 'eu'], has_api_key: true },
      { name: 'blog.example.fr', has_api_key: false },
    ]);
    expect(body.warnings).toEqual([expect.stringMatching(/KEYFLEET_SITE_KEY_BLOG is not set/)]);
    expect(JSON.stringify(body)).not.toContain('shop-own-key');
  });

  it("refuses an import naming keyfleet's own secrets as api_key_env, importing nothing (issue 12)", async () => {
    const before = (await list()).length;
    for (const name of ['KEYFLEET_VAULT_KEY', 'KEYFLEET_ADMIN_TOKEN', 'KEYFLEET_REGISTRATION_TOKEN', 'TEMPLATE_MASTER_API_KEY', 'HOME', 'KEYFLEET_SITE_KEY_']) {
      const content = ['sites:', '  - url: https://listener.example.fr', `    api_key_env: ${name}`].join('\n');
      const res = await d.call({ url: DASHBOARD_ROUTES.importSites, body: { format: 'yaml', content } });
      expect({ name, status: res.statusCode, error: res.json().error }).toEqual({
        name,
        status: 400,
        error: 'api_key_env_refused',
      });
      expect(res.json().message).toMatch(/KEYFLEET_SITE_KEY_SHOP/);
    }
    expect((await list()).length).toBe(before);
  });

  it('takes the loopback aliases of a site for the site itself, when added and when imported (issue 12)', async () => {
    const first = await d.call({ url: DASHBOARD_ROUTES.sites, body: { url: 'http://127.0.0.1:8089', name: 'loop' } });
    expect(first.statusCode).toBe(201);
    for (const url of ['http://localhost:8089', 'http://127.1:8089/', 'http://[::1]:8089', 'HTTP://LOCALHOST.:8089']) {
      const res = await d.call({ url: DASHBOARD_ROUTES.sites, body: { url } });
      expect({ url, status: res.statusCode, error: res.json().error }).toEqual({ url, status: 409, error: 'site_exists' });
    }
    const imported = (
      await d.call({ url: DASHBOARD_ROUTES.importSites, body: { content: 'http://localhost:8089\n' } })
    ).json();
    expect(imported.added).toEqual([]);
    expect(imported.skipped).toEqual([{ url: 'http://localhost:8089', reason: expect.stringMatching(/same site as http:\/\/127\.0\.0\.1:8089/) }]);
    await d.call({ method: 'DELETE', url: `${DASHBOARD_ROUTES.sites}/loop` });
  });

  it('imports URLs with a base path, named after them with _ for / (issue 12)', async () => {
    const res = await d.call({
      url: DASHBOARD_ROUTES.importSites,
      body: { content: 'https://base.example.fr/shop\nhttps://base.example.fr/eu/shop/\n' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().added).toMatchObject([
      { url: 'https://base.example.fr/shop', name: 'base.example.fr_shop' },
      { url: 'https://base.example.fr/eu/shop', name: 'base.example.fr_eu_shop' },
    ]);
  });

  it('imports nothing from a file with a bad entry, and says which line', async () => {
    const res = await d.call({
      url: DASHBOARD_ROUTES.importSites,
      body: { content: 'https://a.example.fr\nnot a url\n' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/sites\.txt:2/);
    expect(await list()).toEqual([]);
  });
});
