import { afterAll, describe, expect, it } from 'vitest';
import {
  InventoryError,
  isLoopbackHost,
  loadInventory,
  normaliseSiteUrl,
} from '../../src/engine/inventory.js';
import { tempDir } from '../helpers/temp-files.js';

/**
 * One form per site (so duplicates and results compare), and no guessing: what keyfleet would have
 * to guess about is refused with the fix, including the guide's common mistake of giving the /api URL.
 */
const tmp = tempDir('keyfleet-urls-');
afterAll(() => tmp.cleanup());

describe('normalising', () => {
  it.each([
    ['  https://shop.example.fr  ', 'https://shop.example.fr'],
    ['https://shop.example.fr/', 'https://shop.example.fr'],
    ['https://shop.example.fr///', 'https://shop.example.fr'],
    ['HTTPS://Shop.EXAMPLE.fr', 'https://shop.example.fr'],
    ['https://Shop.example.fr/Store/', 'https://shop.example.fr/Store'],
    ['https://shop.example.fr:443/', 'https://shop.example.fr'],
    ['https://shop.example.fr:8443', 'https://shop.example.fr:8443'],
    ['http://127.0.0.1:5000/', 'http://127.0.0.1:5000'],
    ['http://[::1]:5000', 'http://[::1]:5000'],
    ['https://shop.example.fr/apiary', 'https://shop.example.fr/apiary'],
    ['https://shop.example.fr/rapid', 'https://shop.example.fr/rapid'],
  ])('%s → %s', (input, url) => {
    expect(normaliseSiteUrl(input)).toMatchObject({ ok: true, url });
  });
});

describe('refusing', () => {
  it.each([
    ['shop.example.fr', /has no scheme: write https:\/\/shop\.example\.fr \(keyfleet does not guess one\)/],
    ['localhost:5000', /has no scheme: write https:\/\/localhost:5000/],
    ['https:/shop.example.fr', /is malformed: write https:\/\/host/],
    ['ftp://shop.example.fr', /uses ftp:\/\/: only https:\/\//],
    ['https://shop.example.fr/api', /remove the \/api suffix/],
    ['https://shop.example.fr/api/', /remove the \/api suffix/],
    ['https://shop.example.fr/API', /remove the \/api suffix/],
    ['https://shop.example.fr/api/export/settings/stripe_secret_key', /remove the \/api suffix/],
    ['https://shop.example.fr/store/api', /remove the \/api suffix/],
    ['https://shop.example.fr/?site=1', /has a query string/],
    ['https://shop.example.fr/?', /has a query string/],
    ['https://shop.example.fr/#top', /has a fragment/],
    ['https://shop.example.fr https://blog.example.fr', /contains a space: write one URL per line/],
    ['https://exa mple.fr', /contains a space/],
    ['https://', /is not a valid URL/],
  ])('%s', (input, reason) => {
    const result = normaliseSiteUrl(input);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(reason);
  });

  it.each([
    'https://admin:hunter2hunter2@shop.example.fr',
    'https://admin@shop.example.fr',
    'admin:hunter2hunter2@shop.example.fr',
  ])('refuses credentials in %s without repeating the password', (input) => {
    const result = normaliseSiteUrl(input);
    expect(result.ok).toBe(false);
    const reason = result.ok ? '' : result.reason;
    expect(reason).toMatch(/credentials|user:pass@/);
    expect(reason).not.toContain('hunter2');
    expect(reason).not.toContain('admin');
  });

  it('never repeats a query string, which may carry a token', () => {
    const result = normaliseSiteUrl('https://shop.example.fr/store?token=abcdef0123456789');
    expect(result.ok ? '' : result.reason).not.toContain('abcdef0123456789');
  });

  it('names the file and the line of a refused URL in the sites file', async () => {
    const path = tmp.file('sites.txt', '# fleet\nhttps://ok.example.fr\n\nhttps://shop.example.fr/api\n');
    const err = await loadInventory(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InventoryError);
    expect((err as InventoryError).message).toBe(
      `${path}:4: URL points at the site's API (https://shop.example.fr/api): remove the /api suffix — give the site's base URL, keyfleet adds /api/… itself`,
    );
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['LOCALHOST', true],
    ['127.0.0.1', true],
    ['127.255.3.4', true],
    ['127.1', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['::2', false],
    ['localhost.example.com', false],
    ['127.0.0.1.example.com', false],
    ['', false],
    ['not a host', false],
  ])('%s → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
