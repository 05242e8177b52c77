import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStateStore } from '../../src/store/open-state-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { POSTGRES_TEST_URL, dropSchema, freshSchemaName, pgQuery } from '../helpers/postgres.js';

export type StateBackendName = 'sqlite' | 'postgres';
export const ALL_STATE_BACKENDS: readonly StateBackendName[] = ['sqlite', 'postgres'];

/**
 * One test's state database on either backend: a temp SQLite file, or a fresh schema on the test
 * Postgres. `dump()` is everything stored, as text (SQLite: the file and its WAL; Postgres: every
 * row of every table), so a test can grep it for a secret. `open()` again is a restart.
 */
export function anyStateBackend(backend: StateBackendName) {
  const vaultKey = randomBytes(32).toString('base64');
  const dir = mkdtempSync(join(tmpdir(), 'keyfleet-state-any-'));
  const schema = freshSchemaName('kf_state');
  const opened: StateStore[] = [];
  /** The environment a dashboard or CLI child needs to use this database. */
  const env: Record<string, string> =
    backend === 'sqlite'
      ? { KEYFLEET_DB: join(dir, 'keyfleet.db'), KEYFLEET_VAULT_KEY: vaultKey }
      : { KEYFLEET_DB: POSTGRES_TEST_URL, KEYFLEET_DB_SCHEMA: schema, KEYFLEET_VAULT_KEY: vaultKey };
  return {
    backend,
    env,
    dir,
    async open(): Promise<StateStore> {
      const store = await openStateStore({ env, log: () => undefined });
      opened.push(store);
      return store;
    },
    async dump(): Promise<string> {
      if (backend === 'sqlite') {
        return readdirSync(dir)
          .filter((f) => f.startsWith('keyfleet.db'))
          .map((f) => readFileSync(join(dir, f)).toString('latin1'))
          .join('\n');
      }
      // The state's schema and, when a dashboard made one, its job queue's (pg-boss: job data too).
      const out: string[] = [];
      for (const ns of [schema, `${schema}_queue`]) {
        const tables = await pgQuery<{ table_name: string }>(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`,
          [ns],
        );
        for (const { table_name } of tables) {
          const rows = await pgQuery<{ t: string }>(`SELECT t::text AS t FROM "${table_name}" t`, [], ns);
          out.push(...rows.map((r) => r.t));
        }
      }
      return out.join('\n');
    },
    /** One statement straight on the database (`$1` placeholders on both backends), rows back. */
    async sql<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
      if (backend === 'postgres') return pgQuery<R & object>(text, params, schema);
      const db = new Database(join(dir, 'keyfleet.db'));
      try {
        const stmt = db.prepare(text.replace(/\$\d+/g, '?')); // $n in order of appearance
        if (stmt.reader) return stmt.all(...params) as R[];
        stmt.run(...params);
        return [];
      } finally {
        db.close();
      }
    },
    async cleanup(): Promise<void> {
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
      rmSync(dir, { recursive: true, force: true });
      // A dashboard on Postgres also makes its job queue's schema (pg-boss), named after the state's.
      if (backend === 'postgres') await Promise.all([dropSchema(schema), dropSchema(`${schema}_queue`)]);
    },
  };
}

export type AnyStateBackend = ReturnType<typeof anyStateBackend>;
