import { afterAll, describe, expect, it } from 'vitest';
import { InventoryError, loadInventory } from '../../src/engine/inventory.js';
import { protocolFor } from '../../src/cli/fleet-options.js';
import { tempDir } from '../helpers/temp-files.js';

/** Issue 9: the YAML inventory's `protocol: seed|keyfleet|auto`, and `--protocol` over it. */
const tmp = tempDir('keyfleet-protocol-');
afterAll(() => tmp.cleanup());

describe('a site\'s protocol in the inventory', () => {
  it('reads protocol per site; absent means auto', async () => {
    const path = tmp.file('sites.yml', ['sites:', '  - url: https://old.example.fr', '    protocol: seed', '  - url: https://new.example.fr', '    protocol: keyfleet', '  - https://any.example.fr', ''].join('\n'));
    const { sites } = await loadInventory(path);
    expect(sites.map((s) => s.protocol)).toEqual(['seed', 'keyfleet', undefined]);
    expect(sites.map((s) => protocolFor(s, {}))).toEqual(['seed', 'keyfleet', 'auto']);
    // --protocol wins over the inventory; --protocol auto leaves each site's own.
    expect(sites.map((s) => protocolFor(s, { protocol: 'keyfleet' }))).toEqual(['keyfleet', 'keyfleet', 'keyfleet']);
    expect(sites.map((s) => protocolFor(s, { protocol: 'auto' }))).toEqual(['seed', 'keyfleet', 'auto']);
  });

  it('refuses an unknown protocol, naming the entry and the choices', async () => {
    const path = tmp.file('bad.yml', ['sites:', '  - url: https://old.example.fr', '    protocol: flask', ''].join('\n'));
    const err = (await loadInventory(path).catch((e: unknown) => e)) as InventoryError;
    expect(err).toBeInstanceOf(InventoryError);
    expect(err.message).toMatch(/entry 1: protocol must be one of auto, keyfleet, seed/);
  });

  it('refuses an unknown --protocol with exit 2', () => {
    expect(() => protocolFor({ url: 'https://a.example.fr', name: 'a', tags: [], apiKeyEnv: null }, { protocol: 'flask' })).toThrow(/--protocol must be one of/);
  });
});
