import { afterAll, describe, expect, it } from 'vitest';
import { InventoryError, loadInventory } from '../../src/engine/inventory.js';
import { makeKey } from '../helpers/keys.js';
import { tempDir } from '../helpers/temp-files.js';

/**
 * The YAML inventory: tags and a per-site API key variable on top of the seed format. Mistakes name
 * the entry and its line; fields that would hold a credential are refused without being repeated.
 */
const tmp = tempDir('keyfleet-yaml-');
afterAll(() => tmp.cleanup());

async function failure(path: string): Promise<InventoryError> {
  const err = await loadInventory(path).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InventoryError);
  return err as InventoryError;
}

describe('YAML inventory', () => {
  it('reads sites: with url, name, tags and api_key_env, and bare URL entries', async () => {
    const path = tmp.file(
      'sites.yml',
      [
        '# the fleet',
        'sites:',
        '  - url: https://Shop.example.fr/',
        '    name: shop',
        '    tags: [production, eu]',
        '    api_key_env: SHOP_API_KEY',
        '  - https://blog.example.fr   # a bare URL',
        '  - url: https://staging.example.fr',
        '    tags: staging',
      ].join('\n'),
    );
    const { sites, warnings } = await loadInventory(path);
    expect(sites).toEqual([
      { url: 'https://shop.example.fr', name: 'shop', tags: ['production', 'eu'], apiKeyEnv: 'SHOP_API_KEY' },
      { url: 'https://blog.example.fr', name: 'blog.example.fr', tags: [], apiKeyEnv: null },
      { url: 'https://staging.example.fr', name: 'staging.example.fr', tags: ['staging'], apiKeyEnv: null },
    ]);
    expect(warnings).toEqual([]);
  });

  it('accepts a top-level list and the .yaml extension', async () => {
    const path = tmp.file('fleet.yaml', '- url: https://a.example.fr\n  tags: [x]\n- https://b.example.fr\n');
    const { sites } = await loadInventory(path);
    expect(sites.map((s) => [s.url, s.tags])).toEqual([
      ['https://a.example.fr', ['x']],
      ['https://b.example.fr', []],
    ]);
  });

  it('names the entry number and its line for a bad URL', async () => {
    const path = tmp.file(
      'bad-url.yml',
      'sites:\n  - url: https://a.example.fr\n  - url: b.example.fr\n    tags: [x]\n',
    );
    expect((await failure(path)).message).toBe(
      `${path}:3: entry 2: URL has no scheme: write https://b.example.fr (keyfleet does not guess one)`,
    );
  });

  it('refuses unknown fields, naming the allowed ones', async () => {
    const path = tmp.file('typo.yml', 'sites:\n  - url: https://a.example.fr\n    tag: production\n');
    expect((await failure(path)).message).toBe(
      `${path}:2: entry 1: unknown field 'tag' (allowed: url, name, tags, api_key_env, protocol)`,
    );
  });

  it('refuses a key written into the inventory, without repeating it', async () => {
    const secret = makeKey('sk', 'live');
    const path = tmp.file('leaky.yml', `sites:\n  - url: https://a.example.fr\n    api_key: ${secret}\n`);
    const err = await failure(path);
    expect(err.message).toMatch(/field 'api_key' looks like a credential: keep keys out of the inventory/);
    expect(err.message).not.toContain(secret.slice(8));
  });

  it('refuses an api_key_env that holds a key instead of naming a variable, without repeating it', async () => {
    const secret = `${makeKey('sk', 'test').slice(0, 20)}-${makeKey('sk', 'test').slice(8)}`;
    const path = tmp.file(
      'env-value.yml',
      `sites:\n  - url: https://a.example.fr\n    api_key_env: "${secret}"\n`,
    );
    const err = await failure(path);
    expect(err.message).toMatch(/api_key_env must name an environment variable \(e\.g\. SHOP_API_KEY\)/);
    expect(err.message).not.toContain(secret.slice(8, 20));
  });

  it.each([
    ['no-url.yml', 'sites:\n  - name: shop\n', /entry 1: has no url: add url: https:\/\/…/],
    ['tags.yml', 'sites:\n  - url: https://a.example.fr\n    tags: {a: 1}\n', /tags must be a list of words/],
    ['number.yml', 'sites:\n  - 42\n', /entry 1: expected a URL or a mapping/],
    ['scalar.yml', 'sites: https://a.example.fr\n', /expected a list of sites/],
    ['top.yml', 'site:\n  - https://a.example.fr\n', /unknown top-level key 'site'/],
  ])('explains %s', async (name, text, message) => {
    expect((await failure(tmp.file(name, text))).message).toMatch(message);
  });

  it('reports a YAML syntax error with its line', async () => {
    const path = tmp.file('syntax.yml', 'sites:\n  - url: https://a.example.fr\n  - url: [unclosed\n');
    expect((await failure(path)).message).toMatch(
      new RegExp(`^${path.replace(/[.]/g, '\\.')}:\\d+: YAML syntax error: `),
    );
  });

  it.each(['', 'sites:\n', 'sites: []\n', '# only a comment\n'])(
    'refuses an inventory with no sites: %j',
    async (text) => {
      expect((await failure(tmp.file('empty.yml', text))).message).toMatch(/no sites in this file/);
    },
  );

  it('warns about duplicate entries, keeping the first', async () => {
    const path = tmp.file(
      'dups.yml',
      'sites:\n  - url: https://a.example.fr\n    tags: [x]\n  - https://A.example.fr/\n',
    );
    const { sites, warnings } = await loadInventory(path);
    expect(sites).toHaveLength(1);
    expect(sites[0]?.tags).toEqual(['x']);
    expect(warnings).toEqual([
      `${path}:4: entry 2: duplicate of ${path}:2: entry 1 (https://a.example.fr); skipped`,
    ]);
  });
});
