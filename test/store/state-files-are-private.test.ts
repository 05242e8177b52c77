import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStateStore } from '../../src/store/open-state-store.js';
import { makeKey } from '../helpers/keys.js';

const modeOf = (file: string) => statSync(file).mode & 0o777;

/** Issue 12: every file keyfleet's state creates is 0600, whatever the umask. */
describe('the state database and its vault key', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('are created 0600 (database, WAL, shared memory, vault.key) under a permissive umask', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyfleet-perm-'));
    dirs.push(dir);
    const db = join(dir, 'state', 'keyfleet.db');
    const old = process.umask(0o022);
    try {
      const state = await openStateStore({ path: db, env: {}, eagerVaultKey: true, log: () => undefined });
      await state.fleet.addSite({ url: 'https://a.example.fr', name: 'a', tags: [], apiKey: makeKey('sk'), source: 'admin', addedBy: 't' });
      for (const f of [db, `${db}-wal`, `${db}-shm`, join(dir, 'state', 'vault.key')])
        expect({ f, mode: modeOf(f).toString(8) }).toEqual({ f, mode: '600' });
      await state.close();
    } finally {
      process.umask(old);
    }
  });

  it('tightens a database an older keyfleet left 0644', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyfleet-perm-'));
    dirs.push(dir);
    const db = join(dir, 'keyfleet.db');
    const first = await openStateStore({ path: db, env: {}, eagerVaultKey: true, log: () => undefined });
    await first.close();
    chmodSync(db, 0o644);
    writeFileSync(join(dir, 'unrelated.txt'), 'x');
    const again = await openStateStore({ path: db, env: {}, eagerVaultKey: true, log: () => undefined });
    expect(modeOf(db).toString(8)).toBe('600');
    await again.close();
  });
});
