import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSites } from '../../src/dashboard/fleet/site-import.js';
import type { StateStore } from '../../src/store/state-store.js';
import { ALL_STATE_BACKENDS, anyStateBackend } from './any-state-backend.js';

const SITES = 3000;

/**
 * Issue 14, point 5: an import goes to the store as one batch (`FleetStore.addSites`, one transaction
 * and, on Postgres, one statement for the sites and one for their tags), with `addSite`'s rules for
 * each site: a URL or name already in the fleet, or taken earlier in the same file, is skipped with
 * why; the others are added in the file's order with their tags and their own sealed key.
 */
describe.each(ALL_STATE_BACKENDS)('importing sites in one batch (%s)', (backend) => {
  const db = anyStateBackend(backend);
  let state: StateStore;

  beforeAll(async () => {
    state = await db.open();
  });
  afterAll(async () => {
    await db.cleanup();
  });

  it(`imports ${SITES} sites, in order, with their tags`, { timeout: 60_000 }, async () => {
    const lines = Array.from({ length: SITES }, (_, i) => `https://shop-${i}.example.com`);
    const result = await importSites(
      state.fleet,
      { format: 'seed', content: lines.join('\n'), tags: ['bulk', 'eu'] },
      { actor: 'test', allowHttp: false, env: {} },
    );
    expect(result.skipped).toEqual([]);
    expect(result.added.map((s) => s.url)).toEqual(lines);
    expect(result.added.every((s) => s.tags.join() === 'bulk,eu' && s.source === 'import')).toBe(true);
    expect(new Set(result.added.map((s) => s.id)).size).toBe(SITES);
    const listed = await state.fleet.listSites({ tags: ['eu'] });
    expect(listed.map((s) => s.url)).toEqual(lines);
    expect((await state.fleet.siteSummary()).tags).toMatchObject({ bulk: SITES, eu: SITES });
  });

  it('skips, with why, what the fleet or the file already has, and seals a site key', async () => {
    const key = `site-key-${backend}-0123456789abcdef`;
    const yaml = [
      'sites:',
      '  - url: https://shop-0.example.com', // in the fleet since the test above
      '  - url: https://new-a.example.com',
      '    name: alpha',
      '    tags: [vip]',
      '    api_key_env: KEYFLEET_SITE_KEY_ALPHA',
      '  - url: https://new-b.example.com',
      '    name: alpha', // the name the previous entry takes
      '  - url: http://plain.example.com',
      '  - url: https://new-c.example.com',
    ].join('\n');
    const result = await importSites(
      state.fleet,
      { format: 'yaml', content: yaml },
      { actor: 'test', allowHttp: false, env: { KEYFLEET_SITE_KEY_ALPHA: key } },
    );
    expect(result.added.map((s) => s.url)).toEqual([
      'https://new-a.example.com',
      'https://new-c.example.com',
    ]);
    expect(result.skipped.map((s) => s.url)).toEqual([
      'https://shop-0.example.com',
      'https://new-b.example.com',
      'http://plain.example.com',
    ]);
    expect(result.skipped[0]?.reason).toMatch(/already exists/);
    expect(result.skipped[1]?.reason).toMatch(/name already exists \(alpha\)/);
    expect(result.skipped[2]?.reason).toMatch(/plain http/);
    const alpha = result.added[0];
    expect(alpha).toMatchObject({ name: 'alpha', tags: ['vip'], has_api_key: true });
    expect(await state.fleet.siteApiKey(alpha?.id ?? '')).toBe(key);
    expect(await db.dump()).not.toContain(key);
  });

  it('adds nothing for an empty batch', async () => {
    expect(await state.fleet.addSites([])).toEqual([]);
  });
});
