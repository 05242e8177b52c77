import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '../../src/protocol/cli-error.js';
import { InventoryError, loadInventory } from '../../src/engine/inventory.js';
import { EXIT } from '../../src/protocol/error-catalog.js';
import { tempDir } from '../helpers/temp-files.js';

/**
 * The seed format of the old scripts: one URL per line, `#` comments, blank lines — with the files
 * people actually have (Windows line endings, a BOM from Notepad) and their mistakes reported by
 * file:line, never skipped silently. A 50,000-line file loads whole (its speed is not timed here:
 * timings belong to bench/, not to the tests).
 */
const tmp = tempDir('keyfleet-inventory-');
afterAll(() => tmp.cleanup());

async function failure(path: string, opts = {}): Promise<InventoryError> {
  const err = await loadInventory(path, opts).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InventoryError);
  return err as InventoryError;
}

describe('seed format', () => {
  it('reads URLs, skipping whole-line comments, trailing " # " comments and blank lines', async () => {
    const path = tmp.file(
      'sites.txt',
      '# production fleet\n\nhttps://shop.example.fr\n   \nhttps://blog.example.fr # the blog\n\t# indented comment\nhttps://eu.example.fr:8443/store\t# tab before the comment\n',
    );
    const { sites, warnings } = await loadInventory(path);
    expect(sites).toEqual([
      { url: 'https://shop.example.fr', name: 'shop.example.fr', tags: [], apiKeyEnv: null },
      { url: 'https://blog.example.fr', name: 'blog.example.fr', tags: [], apiKeyEnv: null },
      {
        url: 'https://eu.example.fr:8443/store',
        name: 'eu.example.fr:8443/store',
        tags: [],
        apiKeyEnv: null,
      },
    ]);
    expect(warnings).toEqual([]);
  });

  it('tolerates CRLF line endings and a UTF-8 BOM', async () => {
    const path = tmp.file(
      'windows.txt',
      Buffer.from('\uFEFFhttps://a.example.fr\r\n# c\r\nhttps://b.example.fr\r\n', 'utf8'),
    );
    const { sites } = await loadInventory(path);
    expect(sites.map((s) => s.url)).toEqual(['https://a.example.fr', 'https://b.example.fr']);
  });

  it('keeps the first of duplicate sites (after normalising) and warns with both line numbers', async () => {
    const path = tmp.file(
      'dups.txt',
      'https://a.example.fr\nhttps://b.example.fr\nHTTPS://A.example.fr/\nhttps://a.example.fr\n',
    );
    const { sites, warnings } = await loadInventory(path);
    expect(sites.map((s) => s.url)).toEqual(['https://a.example.fr', 'https://b.example.fr']);
    expect(warnings).toEqual([
      `${path}:3: duplicate of ${path}:1 (https://a.example.fr); skipped`,
      `${path}:4: duplicate of ${path}:1 (https://a.example.fr); skipped`,
    ]);
  });

  it('treats a "#" glued to the URL as a fragment and refuses it, naming the line', async () => {
    const path = tmp.file('glued.txt', 'https://a.example.fr\nhttps://b.example.fr#prod\n');
    const err = await failure(path);
    expect(err.message).toMatch(new RegExp(`^${escape(path)}:2: URL has a fragment`));
    expect(err.hint).toMatch(/"#" starts a comment/);
  });

  it('refuses an empty file and a file of comments only, saying so', async () => {
    for (const text of ['', '\n\n', '# nothing yet\n\n# still nothing\n']) {
      const err = await failure(tmp.file('empty.txt', text));
      expect(err.message).toMatch(/no sites in this file \(it is empty or only has comments\)/);
      expect(err.hint).toMatch(/https:\/\/shop\.example\.fr/);
    }
  });

  it('reports a missing file and a directory by path', async () => {
    expect((await failure(`${tmp.dir}/nope.txt`)).message).toBe(`sites file ${tmp.dir}/nope.txt not found`);
    expect((await failure(tmp.dir)).message).toBe(`sites file ${tmp.dir} is a directory`);
  });

  it('lists every bad line at once, up to ten, then how many more', async () => {
    const lines = ['https://ok.example.fr', ...Array.from({ length: 13 }, (_, i) => `site${i}.example.fr`)];
    const path = tmp.file('many-bad.txt', lines.join('\n'));
    const err = await failure(path);
    expect(err.problems).toHaveLength(13);
    expect(err.message).toMatch(new RegExp(`^${escape(path)}: 13 invalid entries:`));
    expect(err.message).toContain(`${path}:2: URL has no scheme: write https://site0.example.fr`);
    expect(err.message).toContain(`${path}:11: URL has no scheme`);
    expect(err.message).not.toContain(`${path}:12:`);
    expect(err.message).toMatch(/… and 3 more$/);
  });

  it('fails as a usage error: a CliError with exit code 2 and code invalid_inventory', async () => {
    const err = await failure(tmp.file('bare.txt', 'example.com\n'));
    expect(err).toBeInstanceOf(CliError);
    expect(err.exitCode).toBe(EXIT.usage);
    expect(err.code).toBe('invalid_inventory');
  });
});

describe('a large seed file', () => {
  it('loads 50,000 lines (comments, CRLF, duplicates)', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      if (i % 10 === 0) lines.push(`# batch ${i / 10}`);
      else if (i % 97 === 0) lines.push(`https://site${i - 1}.example.fr/shop/ # duplicate`);
      else lines.push(`https://Site${i}.example.fr/shop/ # note ${i}`);
    }
    const path = tmp.file('big.txt', lines.join('\r\n'));
    const { sites, warnings } = await loadInventory(path);

    expect(sites.length + warnings.length).toBe(45_000);
    expect(warnings.length).toBeGreaterThan(0);
    expect(sites[0]).toEqual({
      url: 'https://site1.example.fr/shop',
      name: 'site1.example.fr/shop',
      tags: [],
      apiKeyEnv: null,
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
