import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewFleetSite, SiteHealth } from '../../src/store/fleet-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { makeKey } from '../helpers/keys.js';
import { ALL_STATE_BACKENDS, anyStateBackend, type AnyStateBackend } from './any-state-backend.js';
import { siteUrl } from './state-store-fixture.js';

const site = (i: number, extra: Partial<NewFleetSite> = {}): NewFleetSite => ({
  url: siteUrl(i),
  name: `site${i}`,
  tags: [],
  apiKey: null,
  source: 'admin',
  addedBy: 'tester',
  ...extra,
});

const health = (extra: Partial<SiteHealth> = {}): SiteHealth => ({
  reachable: true,
  pk_as_desired: true,
  sk_as_desired: true,
  mode: 'test',
  latency_ms: 12,
  checked_at: new Date().toISOString(),
  problem: null,
  version_id: 'v1',
  ...extra,
});

describe.each(ALL_STATE_BACKENDS)('fleet store on %s', (backend) => {
  let fx: AnyStateBackend;
  let store: StateStore;
  beforeEach(async () => {
    fx = anyStateBackend(backend);
    store = await fx.open();
  });
  afterEach(() => fx.cleanup());

  it('adds sites, finds them by id, name or URL, and refuses a taken URL or name', async () => {
    const a = await store.fleet.addSite(site(1, { tags: ['eu', 'prod', 'eu'] }));
    expect(a.id).toMatch(/^s_[0-9a-z]{10}$/);
    expect(a).toMatchObject({
      url: siteUrl(1),
      name: 'site1',
      tags: ['eu', 'prod'],
      has_api_key: false,
      health: null,
      source: 'admin',
    });
    for (const ref of [a.id, 'site1', siteUrl(1)]) expect((await store.fleet.getSite(ref))?.id).toBe(a.id);
    expect(await store.fleet.getSite('nope')).toBeUndefined();
    await expect(store.fleet.addSite(site(1, { name: 'other' }))).rejects.toMatchObject({
      code: 'site_exists',
      field: 'url',
    });
    await expect(store.fleet.addSite(site(2, { name: 'site1' }))).rejects.toMatchObject({
      code: 'site_exists',
      field: 'name',
    });
    await expect(store.fleet.addSite(site(3, { name: 'a/b' }))).rejects.toThrow(/not usable/);
    await expect(store.fleet.addSite(site(3, { tags: ['bad tag'] }))).rejects.toThrow(/not usable/);
  });

  it('filters by tag and by problem, in the order sites were added', async () => {
    const a = await store.fleet.addSite(site(1, { tags: ['eu'] }));
    const b = await store.fleet.addSite(site(2, { tags: ['us'] }));
    const c = await store.fleet.addSite(site(3, { tags: ['eu', 'beta'] }));
    expect((await store.fleet.listSites()).map((s) => s.id)).toEqual([a.id, b.id, c.id]);
    expect((await store.fleet.listSites({ tags: ['eu'] })).map((s) => s.id)).toEqual([a.id, c.id]);
    expect((await store.fleet.listSites({ tags: ['beta', 'us'] })).map((s) => s.id)).toEqual([b.id, c.id]);
    await store.fleet.recordHealth(a.id, health());
    await store.fleet.recordHealth(
      b.id,
      health({ reachable: false, problem: 'timeout', pk_as_desired: null }),
    );
    await store.fleet.recordHealth(c.id, health({ sk_as_desired: false }));
    expect((await store.fleet.listSites({ problem: true })).map((s) => s.id)).toEqual([b.id, c.id]);
    expect((await store.fleet.listSites({ problem: false })).map((s) => s.id)).toEqual([a.id]);
    expect((await store.fleet.getSite(b.id))?.health).toMatchObject({
      reachable: false,
      problem: 'timeout',
      pk_as_desired: null,
      sk_as_desired: true,
    });
  });

  it('seals a site API key: readable through siteApiKey only, never in the database file', async () => {
    const apiKey = `site-key-${makeKey('pk').slice(8)}`;
    const a = await store.fleet.addSite(site(1, { apiKey }));
    expect(a.has_api_key).toBe(true);
    expect(JSON.stringify(a)).not.toContain(apiKey);
    expect(await store.fleet.siteApiKey(a.id)).toBe(apiKey);
    expect((await fx.dump()).includes(apiKey)).toBe(false);
    const updated = await store.fleet.updateSite(a.id, { apiKey: null, tags: ['x'], name: 'renamed' });
    expect(updated).toMatchObject({ has_api_key: false, tags: ['x'], name: 'renamed' });
    expect(await store.fleet.siteApiKey(a.id)).toBeNull();
    expect(await store.fleet.updateSite('s_0000000000', { name: 'n' })).toBeUndefined();
  });

  it('removes a site with its tags', async () => {
    const a = await store.fleet.addSite(site(1, { tags: ['eu'] }));
    expect(await store.fleet.removeSite(a.id)).toBe(true);
    expect(await store.fleet.removeSite(a.id)).toBe(false);
    expect(await store.fleet.listSites({ tags: ['eu'] })).toEqual([]);
    // Its tags went with it: a new site with the same URL starts without them.
    expect((await store.fleet.addSite(site(1))).tags).toEqual([]);
  });

  it('keeps a fleet default and tag overrides of the desired version', async () => {
    const v1 = await store.saveKeyVersion({ stripe_publishable_key: makeKey('pk') }, 'tester');
    const v2 = await store.saveKeyVersion({ stripe_publishable_key: makeKey('pk') }, 'tester');
    expect(await store.fleet.desired()).toEqual({ fleet: null, tags: {} });
    await store.fleet.setDesired({}, v1.id, 'tester');
    expect(await store.fleet.setDesired({ tag: 'eu' }, v2.id, 'tester')).toEqual({
      fleet: v1.id,
      tags: { eu: v2.id },
    });
    expect(await store.fleet.setDesired({ tag: 'eu' }, null, 'tester')).toEqual({ fleet: v1.id, tags: {} });
    await expect(store.fleet.setDesired({}, null, 'tester')).rejects.toThrow(/cannot be removed/);
    await expect(store.fleet.setDesired({}, 'v99', 'tester')).rejects.toThrow(/No key version v99/);
  });

  it('appends to the audit log with anything secret-shaped masked', async () => {
    const sk = makeKey('sk');
    await store.fleet.audit({
      actor: 'admin',
      action: 'site.add',
      target: 's_1',
      detail: { url: siteUrl(1) },
    });
    const e = await store.fleet.audit({
      actor: 'admin',
      action: 'oops',
      target: null,
      detail: { note: `pasted ${sk}` },
    });
    expect(JSON.stringify(e.detail)).not.toContain(sk);
    const entries = await store.fleet.listAudit();
    expect(entries.map((x) => x.action)).toEqual(['oops', 'site.add']);
    expect(entries[1]).toMatchObject({ actor: 'admin', target: 's_1', detail: { url: siteUrl(1) } });
    expect((await fx.dump()).includes(sk)).toBe(false);
  });

  it('records the first moment a version was safe to roll, once', async () => {
    const v1 = await store.saveKeyVersion({ stripe_publishable_key: makeKey('pk') }, 'tester');
    const first = await store.fleet.markSafeToRoll({
      version_id: v1.id,
      verified_at: '2026-01-01T00:00:00.000Z',
      sites: 3,
    });
    const again = await store.fleet.markSafeToRoll({
      version_id: v1.id,
      verified_at: '2026-02-01T00:00:00.000Z',
      sites: 4,
    });
    expect(again).toEqual(first);
    expect(await store.fleet.safeToRoll()).toEqual([first]);
  });

  it('survives a restart: sites, tags, keys and desired versions are in the database', async () => {
    const v1 = await store.saveKeyVersion({ stripe_publishable_key: makeKey('pk') }, 'tester');
    const a = await store.fleet.addSite(site(1, { tags: ['eu'], apiKey: 'k'.repeat(40) }));
    await store.fleet.setDesired({}, v1.id, 'tester');
    await store.close();
    store = await fx.open();
    expect(await store.fleet.getSite(a.id)).toEqual(a);
    expect(await store.fleet.siteApiKey(a.id)).toBe('k'.repeat(40));
    expect((await store.fleet.desired()).fleet).toBe(v1.id);
  });
});
