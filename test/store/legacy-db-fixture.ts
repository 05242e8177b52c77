import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSettingsStore } from '../../src/store/open-settings-store.js';
import { openStateStore } from '../../src/store/open-state-store.js';
import type { SettingsStore } from '../../src/store/settings-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { POSTGRES_TEST_URL, dropSchema, freshSchemaName, withPgClient } from '../helpers/postgres.js';

/**
 * A copy of one of the databases in test/fixtures/legacy-db (made by an earlier keyfleet), to open
 * through the public open functions: the SQLite file copied to a temp dir, or the Postgres dump run
 * into a fresh schema. Nothing here knows how migrations are recorded — only where the data lives.
 */
export const LEGACY_DIR = fileURLToPath(new URL('../fixtures/legacy-db/', import.meta.url));

export type LegacyBackend = 'sqlite' | 'postgres';
export type LegacyName = 'state-latest' | 'state-v5' | 'settings-latest' | 'settings-v1';

/** expected.json: what the store API read back when the fixtures were made (see its README). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read at run time; each test types what it uses.
export const EXPECTED: Record<string, any> = JSON.parse(
  readFileSync(join(LEGACY_DIR, 'expected.json'), 'utf8'),
);

export interface LegacyDb {
  openState(): Promise<StateStore>;
  openSettings(): Promise<SettingsStore>;
  /** Closes every store opened here and removes the copy (the temp dir or the schema). */
  cleanup(): Promise<void>;
}

export async function restoreLegacy(name: LegacyName, backend: LegacyBackend): Promise<LegacyDb> {
  const opened: Array<{ close(): Promise<void> }> = [];
  const keep = <T extends { close(): Promise<void> }>(s: T) => (opened.push(s), s);
  const closeAll = () => Promise.all(opened.map((s) => s.close().catch(() => undefined)));
  const vaultKey = EXPECTED.vault_key as string;
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keyfleet-legacy-'));
    const file = join(dir, `${name}.db`);
    copyFileSync(join(LEGACY_DIR, `${name}.db`), file);
    return {
      openState: async () =>
        keep(await openStateStore({ env: { KEYFLEET_DB: file, KEYFLEET_VAULT_KEY: vaultKey } })),
      openSettings: async () => keep(await openSettingsStore(`sqlite:${file}`)),
      async cleanup() {
        await closeAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = freshSchemaName('kf_legacy');
  const dump = readFileSync(join(LEGACY_DIR, `${name}.pg.sql`), 'utf8');
  await withPgClient((c) => c.query(dump.replaceAll(EXPECTED.schema_token as string, schema)));
  const env = { KEYFLEET_DB: POSTGRES_TEST_URL, KEYFLEET_DB_SCHEMA: schema, KEYFLEET_VAULT_KEY: vaultKey };
  return {
    openState: async () => keep(await openStateStore({ env })),
    openSettings: async () => keep(await openSettingsStore(POSTGRES_TEST_URL, { schema })),
    async cleanup() {
      await closeAll();
      await dropSchema(schema);
    },
  };
}
