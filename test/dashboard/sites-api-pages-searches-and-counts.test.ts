import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES } from '../../src/protocol/dashboard-routes.js';
import { openStateStore } from '../../src/store/open-state-store.js';
import { makeKey } from '../helpers/keys.js';
import { startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

interface SiteList {
  sites: Array<{ id: string; name: string; url: string; tags: string[] }>;
  total: number;
  limit?: number | null;
  offset?: number;
  summary?: {
    statuses: Record<string, number>;
    tags: Record<string, number>;
    versions: Record<string, { sites: number; in_sync: number }>;
  };
}

/**
 * GET /api/admin/sites pages on the server: `limit` (1-500) and `offset` after the filters (`tag`,
 * `problem`, and `q`, a case-insensitive substring of the URL or name), with `total` the count of
 * every match. Without `limit` every site is listed, as before paging existed.
 */
describe('the sites API, paged', () => {
  let d: TestDashboard;
  const name = (i: number) => `shop-${String(i).padStart(3, '0')}`;
  beforeAll(async () => {
    d = await startTestDashboard();
    const lines = Array.from({ length: 120 }, (_, i) => `https://${name(i)}.fleet.example`);
    await d.call({ url: DASHBOARD_ROUTES.importSites, body: { content: lines.join('\n'), tags: ['eu'] } });
    const yaml = [
      'sites:',
      ...[0, 1, 2].map((i) => `  - url: https://Blog-${i}.Other.example\n    tags: [us]`),
    ];
    await d.call({ url: DASHBOARD_ROUTES.importSites, body: { format: 'yaml', content: yaml.join('\n') } });
  });
  afterAll(() => d?.close());

  const list = async (query: string): Promise<SiteList> => {
    const res = await d.call({ url: `${DASHBOARD_ROUTES.sites}?${query}` });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as SiteList;
  };

  it('lists every site with its total when no limit is given', async () => {
    const all = await list('');
    expect(all.sites).toHaveLength(123);
    expect(all.total).toBe(123);
    expect(all).not.toHaveProperty('limit');
    expect((await list('tag=us')).total).toBe(3);
  });

  it('returns one page with the total of every match', async () => {
    const first = await list('limit=50');
    expect(first).toMatchObject({ total: 123, limit: 50, offset: 0 });
    expect(first.sites.map((s) => s.name)).toEqual(
      Array.from({ length: 50 }, (_, i) => `${name(i)}.fleet.example`),
    );
    const third = await list('limit=50&offset=100');
    expect(third.sites.map((s) => s.name.slice(0, 8))).toEqual([
      ...Array.from({ length: 20 }, (_, i) => name(100 + i)),
      'blog-0.o',
      'blog-1.o',
      'blog-2.o',
    ]);
    expect(third.total).toBe(123);
    expect((await list('limit=50&offset=500')).sites).toEqual([]);
    expect((await list('offset=120')).sites.map((s) => s.tags)).toEqual([['us'], ['us'], ['us']]);
  });

  it('searches the URL or the name, case-insensitively, with the other filters and paging', async () => {
    const q = await list('q=SHOP-11');
    expect(q.total).toBe(10);
    expect(q.sites.map((s) => s.name)).toEqual(
      Array.from({ length: 10 }, (_, i) => `${name(110 + i)}.fleet.example`),
    );
    expect((await list('q=other.EXAMPLE&limit=2')).sites.map((s) => s.url)).toEqual([
      'https://blog-0.other.example',
      'https://blog-1.other.example',
    ]);
    expect((await list('q=other.example&limit=2')).total).toBe(3);
    expect((await list('q=shop&tag=us')).total).toBe(0);
    expect((await list('q=blog&tag=us&problem=unchecked&limit=1&offset=2')).sites.map((s) => s.url)).toEqual([
      'https://blog-2.other.example',
    ]);
    expect((await list('q=%25')).total).toBe(0);
    expect((await list('q=%20%20')).total).toBe(123);
  });

  it('pages a status filter too, and counts the fleet for the tiles and the tag menu on request', async () => {
    const sites = (await list('limit=5')).sites;
    // What a verify would have found, recorded straight in the dashboard's state database.
    const state = await openStateStore({ env: d.env, log: () => undefined });
    try {
      for (const s of sites.slice(0, 3)) {
        await state.fleet.recordHealth(s.id, {
          reachable: false,
          pk_as_desired: null,
          sk_as_desired: null,
          mode: null,
          latency_ms: null,
          checked_at: new Date().toISOString(),
          problem: 'timeout',
          version_id: null,
        });
      }
    } finally {
      await state.close();
    }
    const page = await list('problem=unreachable&limit=2&offset=1');
    expect(page.total).toBe(3);
    expect(page.sites.map((s) => s.id)).toEqual(sites.slice(1, 3).map((s) => s.id));
    expect((await list('problem=unchecked&limit=1')).total).toBe(120);
    const { summary } = await list('limit=1&summary=true');
    expect(summary).toEqual({
      statuses: { all: 123, ok: 0, drifted: 0, unreachable: 3, error: 0, unchecked: 120 },
      tags: { eu: 120, us: 3 },
      versions: {},
    });
    expect(await list('limit=1')).not.toHaveProperty('summary');
  });

  it('finds the sites named by id, name or URL (ref), exactly, for a run or a pick of sites', async () => {
    const [a, b, c] = (await list('limit=3&offset=10')).sites as [
      SiteList['sites'][0],
      SiteList['sites'][0],
      SiteList['sites'][0],
    ];
    const refs = [c.url, a.id, b.name, 'https://nowhere.example', b.name.toUpperCase()];
    const found = await list(`ref=${refs.map(encodeURIComponent).join(',')}&limit=50`);
    expect(found.sites.map((s) => s.id)).toEqual([a.id, b.id, c.id]);
    expect(found.total).toBe(3);
    expect((await list(`ref=${a.id},${c.id}&limit=1&offset=1`)).sites.map((s) => s.id)).toEqual([c.id]);
    expect((await list(`ref=${a.id}&tag=us`)).total).toBe(0);
    const tooMany = Array.from({ length: 501 }, (_, i) => `s_${i}`).join(',');
    const res = await d.call({ url: `${DASHBOARD_ROUTES.sites}?ref=${tooMany}` });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('counts, per desired key version, the sites that should hold it and those verified holding it', async () => {
    const { version } = (
      await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: makeKey('pk'), tag: 'us' } })
    ).json() as { version: { id: string } };
    const { summary } = await list('limit=1&summary=true');
    expect(summary?.versions).toEqual({ [version.id]: { sites: 3, in_sync: 0 } });
  });

  it('refuses a limit outside 1-500 or a negative offset with invalid_request', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=ten', 'offset=-1', 'limit=1.5']) {
      const res = await d.call({ url: `${DASHBOARD_ROUTES.sites}?${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.json(), query).toMatchObject({ success: false, error: 'invalid_request' });
    }
    expect((await list('limit=500')).sites).toHaveLength(123);
  });
});
