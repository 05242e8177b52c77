import { afterAll, describe, expect, it } from 'vitest';
import { InventoryError, loadInventory } from '../../src/engine/inventory.js';
import { tempDir } from '../helpers/temp-files.js';

/**
 * `--tag` keeps the sites carrying a tag; `--limit N` then keeps the first N. Both are checked
 * before anything else: a typo in either must not turn into a push to the whole fleet.
 */
const tmp = tempDir('keyfleet-filter-');
afterAll(() => tmp.cleanup());

const yml = tmp.file(
  'sites.yml',
  [
    'sites:',
    '  - { url: https://a.example.fr, tags: [production, eu] }',
    '  - { url: https://b.example.fr, tags: [staging] }',
    '  - { url: https://c.example.fr, tags: [production] }',
    '  - { url: https://d.example.fr, tags: [production, us] }',
  ].join('\n'),
);
const txt = tmp.file('sites.txt', 'https://a.example.fr\nhttps://b.example.fr\nhttps://c.example.fr\n');

async function failure(path: string, opts: Parameters<typeof loadInventory>[1]): Promise<InventoryError> {
  const err = await loadInventory(path, opts).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InventoryError);
  return err as InventoryError;
}

const urls = async (path: string, opts: Parameters<typeof loadInventory>[1]) =>
  (await loadInventory(path, opts)).sites.map((s) => s.url);

describe('--tag', () => {
  it('keeps only the sites with the tag, in file order', async () => {
    expect(await urls(yml, { tag: 'production' })).toEqual([
      'https://a.example.fr',
      'https://c.example.fr',
      'https://d.example.fr',
    ]);
  });

  it('refuses a tag no site has, listing the tags the file does have', async () => {
    const err = await failure(yml, { tag: 'prod' });
    expect(err.message).toBe(`no site in ${yml} has tag 'prod'`);
    expect(err.hint).toBe('Tags in this file: eu, production, staging, us.');
  });

  it('refuses a tag on a plain list of URLs, which has none', async () => {
    const err = await failure(txt, { tag: 'production' });
    expect(err.message).toMatch(/is a plain list of URLs, which has no tags/);
    expect(err.hint).toMatch(/YAML inventory/);
  });

  it('refuses an empty tag', async () => {
    expect((await failure(yml, { tag: ' ' })).message).toBe('--tag is empty');
  });
});

describe('--limit', () => {
  it('takes the first N after the tag filter', async () => {
    expect(await urls(yml, { tag: 'production', limit: 2 })).toEqual([
      'https://a.example.fr',
      'https://c.example.fr',
    ]);
  });

  it("accepts commander's string form and a limit larger than the fleet", async () => {
    expect(await urls(txt, { limit: '2' })).toEqual(['https://a.example.fr', 'https://b.example.fr']);
    expect(await urls(txt, { limit: 100 })).toHaveLength(3);
  });

  it.each([0, -1, 1.5, Number.NaN, '0', '-2', '1.5', 'ten', '', '2x'])(
    'refuses %j: N must be a positive integer',
    async (limit) => {
      expect((await failure(txt, { limit })).message).toMatch(/^--limit must be a positive integer, got '/);
    },
  );
});
