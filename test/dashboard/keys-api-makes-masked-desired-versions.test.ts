import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES } from '../../src/protocol/dashboard-routes.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { makeKey, makePriceId, makeWebhookSecret } from '../helpers/keys.js';
import { startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

describe('the keys API', () => {
  let d: TestDashboard;
  beforeEach(async () => {
    d = await startTestDashboard();
  });
  afterEach(() => d.close());

  const post = (body: object) => d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, ...body } });

  it('asks before making a new version the default: make_default is required, false only saves it', async () => {
    const missing = await d.call({ url: DASHBOARD_ROUTES.keys, body: { publishable_key: makeKey('pk') } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().message).toMatch(/^Say whether the new version becomes the fleet default now: make_default: true/);
    expect((await d.call({ url: DASHBOARD_ROUTES.keys })).json().versions).toEqual([]);
    const first = await post({ publishable_key: makeKey('pk') });
    expect(first.json().desired).toEqual({ fleet: 'v1', tags: {} });
    const saved = await post({ publishable_key: makeKey('pk'), make_default: false });
    expect(saved.statusCode).toBe(201);
    expect(saved.json()).toMatchObject({ version: { id: 'v2' }, made_default: false, desired: { fleet: 'v1', tags: {} } });
    expect((await d.call({ url: DASHBOARD_ROUTES.keys })).json().desired).toEqual({ fleet: 'v1', tags: {} });
  });

  it('makes a new desired version from the given keys over the current ones, shown masked only', async () => {
    const pk = makeKey('pk');
    const sk = makeKey('sk');
    const whsec = makeWebhookSecret();
    const first = await post({ publishable_key: pk });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({
      version: { id: 'v1', created_by: 'api-token', safe_to_roll: null },
      desired: { fleet: 'v1', tags: {} },
    });
    const second = (await post({ secret_key: sk, webhook_secret: whsec })).json();
    expect(second.version.id).toBe('v2');
    // The pk of v1 is kept: a new secret does not drop the publishable key.
    expect(second.version.keys).toEqual({
      publishable_key: {
        prefix: 'pk_test_',
        last4: pk.slice(-4),
        fingerprint: fingerprint(pk),
        mode: 'test',
      },
      secret_key: { prefix: 'sk_test_', last4: sk.slice(-4), fingerprint: fingerprint(sk), mode: 'test' },
      webhook_secret: {
        prefix: 'whsec_',
        last4: whsec.slice(-4),
        fingerprint: fingerprint(whsec),
        mode: null,
      },
    });
    const listed = (await d.call({ url: DASHBOARD_ROUTES.keys })).json();
    expect(listed.versions.map((v: { id: string }) => v.id)).toEqual(['v2', 'v1']);
    expect(listed.desired).toEqual({ fleet: 'v2', tags: {} });
    for (const secret of [sk, whsec])
      expect(JSON.stringify([first.json(), second, listed])).not.toContain(secret);
  });

  it('refuses keys that are malformed or mix test and live, naming them masked', async () => {
    const sk = makeKey('sk');
    const bad = await post({ secret_key: `${sk} ` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('invalid_keys');
    expect(bad.body).not.toContain(sk);
    expect((await post({ publishable_key: makeKey('pk', 'live'), secret_key: sk })).json().error).toBe(
      'invalid_keys',
    );
    expect((await post({})).json().error).toBe('invalid_keys');
    expect((await d.call({ url: DASHBOARD_ROUTES.keys })).json().versions).toEqual([]);
  });

  it('warns about live keys', async () => {
    const res = await post({
      publishable_key: makeKey('pk', 'live'),
      secret_key: makeKey('sk', 'live'),
      price_id: makePriceId(),
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().warnings).toEqual(expect.arrayContaining([expect.stringMatching(/LIVE keys/)]));
  });

  it('gives tags their own version, and sites follow their own, their tag or the fleet default', async () => {
    await post({ publishable_key: makeKey('pk') });
    const eu = (await post({ publishable_key: makeKey('pk'), tag: 'eu' })).json();
    expect(eu.desired).toEqual({ fleet: 'v1', tags: { eu: 'v2' } });
    const a = (
      await d.call({ url: DASHBOARD_ROUTES.sites, body: { url: 'https://a.example.fr', tags: ['eu'] } })
    ).json().site;
    const b = (await d.call({ url: DASHBOARD_ROUTES.sites, body: { url: 'https://b.example.fr' } })).json()
      .site;
    expect(a.desired).toEqual({ version_id: 'v2', source: 'tag', tag: 'eu' });
    expect(b.desired).toEqual({ version_id: 'v1', source: 'fleet' });
    const pinned = await d.call({
      method: 'PATCH',
      url: `${DASHBOARD_ROUTES.sites}/${b.id}`,
      body: { desired_version: 'v2' },
    });
    expect(pinned.json().site.desired).toEqual({ version_id: 'v2', source: 'site' });

    expect(
      (await d.call({ method: 'PUT', url: DASHBOARD_ROUTES.desired, body: { version: 'v2' } })).json()
        .desired,
    ).toEqual({ fleet: 'v2', tags: { eu: 'v2' } });
    expect(
      (
        await d.call({ method: 'PUT', url: DASHBOARD_ROUTES.desired, body: { version: null, tag: 'eu' } })
      ).json().desired,
    ).toEqual({ fleet: 'v2', tags: {} });
    expect(
      (await d.call({ method: 'PUT', url: DASHBOARD_ROUTES.desired, body: { version: 'v7' } })).json().error,
    ).toBe('key_version_not_found');
    expect(
      (await d.call({ method: 'PUT', url: DASHBOARD_ROUTES.desired, body: { version: null } })).json().error,
    ).toBe('invalid_request');
    const actions = (await d.call({ url: DASHBOARD_ROUTES.audit }))
      .json()
      .entries.map((e: { action: string }) => e.action);
    expect(actions.filter((a: string) => a === 'desired.set')).toHaveLength(2);
  });
});
