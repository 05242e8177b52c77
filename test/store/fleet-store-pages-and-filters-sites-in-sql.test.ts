import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siteView, type SiteView } from '../../src/dashboard/fleet/site-views.js';
import type { FleetSite, SiteHealth, SiteStatusFilter, SiteStatusKind } from '../../src/store/fleet-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { makeKey } from '../helpers/keys.js';
import { ALL_STATE_BACKENDS, anyStateBackend, type AnyStateBackend } from './any-state-backend.js';

/**
 * The store filters, pages and counts sites in SQL (fleet-site-query.ts). These rules are stated once
 * more here in JavaScript, on top of the dashboard's own `siteView` (effective version and drift),
 * and every status filter and count must agree with them over every combination of health, tags,
 * tag overrides and own desired versions — with desired versions set and without.
 */

/** What `?problem=` meant when the dashboard filtered in memory. */
function reference(v: SiteView, filter: SiteStatusFilter): boolean {
  const h = v.health;
  const unreachable = h !== null && !h.reachable;
  const error = h !== null && h.problem !== null && h.problem !== 'drift';
  switch (filter) {
    case 'unreachable':
      return unreachable;
    case 'drift':
      return v.drift === 'drifted';
    case 'error':
      return error;
    case 'unchecked':
      return h === null;
    case 'any':
      return unreachable || error || v.drift === 'drifted';
    case 'none':
      return h !== null && !unreachable && !error && v.drift === 'in_sync';
  }
}

/** The web UI's status kind (src/web/js/format.js siteStatus). */
function kindOf(v: SiteView): SiteStatusKind {
  const h = v.health;
  if (!h) return 'unchecked';
  if (!h.reachable) return 'unreachable';
  if (h.problem && h.problem !== 'drift') return 'error';
  if (v.drift === 'drifted') return 'drifted';
  if (v.drift === 'in_sync') return 'ok';
  return 'unchecked';
}

const FILTERS: SiteStatusFilter[] = ['any', 'unreachable', 'drift', 'error', 'unchecked', 'none'];

const checked = (over: Partial<SiteHealth>): SiteHealth => ({
  reachable: true,
  pk_as_desired: true,
  sk_as_desired: true,
  mode: 'test',
  latency_ms: 30,
  checked_at: '2026-01-01T00:00:00.000Z',
  problem: null,
  version_id: null,
  ...over,
});

describe.each(ALL_STATE_BACKENDS)('site lists filtered, paged and counted in SQL on %s', (backend) => {
  let fx: AnyStateBackend;
  let store: StateStore;
  let sites: FleetSite[];
  const versions: string[] = [];

  beforeAll(async () => {
    fx = anyStateBackend(backend);
    store = await fx.open();
    for (let i = 0; i < 3; i++)
      versions.push((await store.saveKeyVersion({ stripe_publishable_key: makeKey('pk') }, 'test')).id);
    const [v1, v2, v3] = versions as [string, string, string];
    const healths: Array<SiteHealth | null> = [
      null,
      checked({ reachable: false, pk_as_desired: null, sk_as_desired: null, problem: 'timeout' }),
      checked({ reachable: false, pk_as_desired: null, sk_as_desired: null }),
      checked({ problem: 'server_error', pk_as_desired: null, sk_as_desired: null }),
      checked({ problem: 'server_error', pk_as_desired: false, version_id: v1 }),
      checked({ problem: 'drift', pk_as_desired: false, version_id: v1 }),
      checked({ version_id: v1 }),
      checked({ version_id: v2 }),
      checked({ version_id: v3 }),
      checked({ version_id: v1, sk_as_desired: false }),
      checked({ version_id: v1, pk_as_desired: null, sk_as_desired: null }),
      checked({ version_id: null }),
    ];
    const shapes: Array<{ tags: string[]; own: string | null }> = [
      { tags: [], own: null },
      { tags: ['eu'], own: null },
      { tags: ['us', 'eu'], own: null },
      { tags: ['eu'], own: v3 },
    ];
    let i = 0;
    for (const health of healths) {
      for (const shape of shapes) {
        i++;
        const name = i === 7 ? 'odd_name%7' : `Site-${String(i).padStart(2, '0')}`;
        const site = await store.fleet.addSite({
          url: `https://host${i}.fleet.example`,
          name,
          tags: shape.tags,
          apiKey: null,
          source: 'admin',
          addedBy: 'test',
        });
        if (shape.own) await store.fleet.updateSite(site.id, { desiredVersionId: shape.own });
        if (health) await store.fleet.recordHealth(site.id, health);
      }
    }
    sites = await store.fleet.listSites();
  });
  afterAll(() => fx?.cleanup());

  const agreeWithTheViews = async () => {
    const desired = await store.fleet.desired();
    const views = sites.map((s) => siteView(s, desired));
    for (const filter of FILTERS) {
      const expected = views.filter((v) => reference(v, filter)).map((v) => v.id);
      expect(
        (await store.fleet.listSites({ status: filter })).map((s) => s.id),
        filter,
      ).toEqual(expected);
      expect((await store.fleet.pageSites({ status: filter })).total, filter).toBe(expected.length);
    }
    const counts = { all: views.length, ok: 0, drifted: 0, unreachable: 0, error: 0, unchecked: 0 };
    for (const v of views) counts[kindOf(v)] += 1;
    const summary = await store.fleet.siteSummary();
    expect(summary.statuses).toEqual(counts);
    // Per version (the Keys view's safe-to-roll cards): who should hold it, who was verified holding it.
    const perVersion: Record<string, { sites: number; in_sync: number }> = {};
    for (const v of views) {
      const id = v.desired.version_id;
      if (id === null) continue;
      const c = (perVersion[id] ??= { sites: 0, in_sync: 0 });
      c.sites += 1;
      if (v.drift === 'in_sync') c.in_sync += 1;
    }
    expect(summary.versions).toEqual(perVersion);
    return counts;
  };

  it('agrees with the views when only some sites have a version of their own', async () => {
    await agreeWithTheViews();
  });

  it('agrees with the views with a fleet default, a tag override and own versions', async () => {
    const [v1, v2] = versions as [string, string, string];
    await store.fleet.setDesired({}, v1, 'test');
    await store.fleet.setDesired({ tag: 'eu' }, v2, 'test');
    const counts = await agreeWithTheViews();
    // Every kind occurs, so the comparison above covered each branch.
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(0);
  });

  it('pages in the order sites were added, with the total of every match', async () => {
    const ids = sites.map((s) => s.id);
    const page = await store.fleet.pageSites({}, { limit: 5, offset: 10 });
    expect(page.sites.map((s) => s.id)).toEqual(ids.slice(10, 15));
    expect(page.total).toBe(sites.length);
    expect(page.sites.map((s) => s.tags)).toEqual(sites.slice(10, 15).map((s) => s.tags));
    expect((await store.fleet.pageSites({}, { offset: 40 })).sites.map((s) => s.id)).toEqual(ids.slice(40));
    expect(await store.fleet.pageSites({}, { limit: 5, offset: 1000 })).toEqual({
      sites: [],
      total: sites.length,
    });

    const eu = sites.filter((s) => s.tags.includes('eu')).map((s) => s.id);
    const euPage = await store.fleet.pageSites({ tags: ['eu'] }, { limit: 4, offset: 4 });
    expect(euPage).toMatchObject({ total: eu.length });
    expect(euPage.sites.map((s) => s.id)).toEqual(eu.slice(4, 8));
  });

  it('searches the URL and the name, case-insensitively, with % and _ taken literally', async () => {
    const names = async (q: string, extra = {}) =>
      (await store.fleet.listSites({ q, ...extra })).map((s) => s.name);
    expect(await names('site-1')).toEqual(sites.filter((s) => /^Site-1\d$/.test(s.name)).map((s) => s.name));
    expect(await names('HOST48.')).toEqual(['Site-48']);
    expect(await names('_name%')).toEqual(['odd_name%7']);
    expect(await names('%')).toEqual(['odd_name%7']);
    expect(await names('site-1', { tags: ['us'], status: 'unreachable' })).toEqual(['Site-11']);
    const page = await store.fleet.pageSites({ q: 'fleet.example' }, { limit: 2, offset: 2 });
    expect(page.total).toBe(sites.length);
    expect(page.sites.map((s) => s.name)).toEqual(['Site-03', 'Site-04']);
  });

  it('finds sites by id, name or URL, exactly, with the other filters and paging', async () => {
    const [a, b, c] = [sites[3], sites[17], sites[40]] as [FleetSite, FleetSite, FleetSite];
    const ids = async (refs: string[], extra = {}, page = {}) =>
      (await store.fleet.pageSites({ refs, ...extra }, page)).sites.map((s) => s.id);
    expect(await ids([c.url, a.id, b.name, 'https://nowhere.example', 'SITE-20'])).toEqual([
      a.id,
      b.id,
      c.id,
    ]);
    expect(await ids([])).toEqual([]);
    expect(await ids([a.id, b.id, c.id], {}, { limit: 1, offset: 1 })).toEqual([b.id]);
    expect((await store.fleet.pageSites({ refs: [a.id, b.id, c.id] }, { limit: 1 })).total).toBe(3);
    expect(await ids([a.id, b.id, c.id], { tags: ['us'] })).toEqual(
      [a, b, c].filter((s) => s.tags.includes('us')).map((s) => s.id),
    );
  });

  it('counts sites per tag', async () => {
    expect((await store.fleet.siteSummary()).tags).toEqual({ eu: 36, us: 12 });
  });
});
