import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, type Migration, type MigrationSet } from '../../src/store/sql/migrate.js';
import { openPostgres } from '../../src/store/sql/postgres-db.js';
import { openSqlite } from '../../src/store/sql/sqlite-db.js';
import type { StoreDb } from '../../src/store/sql/store-db.js';
import { POSTGRES_TEST_URL, dropSchema, freshSchemaName } from '../helpers/postgres.js';

const m = (version: number): Migration => ({
  version,
  description: `table t${version}`,
  sqlite: `CREATE TABLE t${version} (x INTEGER);`,
  postgres: `CREATE TABLE t${version} (x INTEGER);`,
});
const set = (...versions: number[]): MigrationSet => ({
  name: 'test',
  label: 'The test database',
  legacyTable: 'test_schema_migrations',
  migrations: versions.map(m),
});

/**
 * Migration numbers are reserved per branch (issue 11 has 9, others 6–8): a database that got 9
 * first still gets 6, 7 and 8 once they exist; one written by a newer keyfleet is still refused.
 */
describe.each(['sqlite', 'postgres'] as const)('migrations on %s: a version reserved below the highest applied is applied when it arrives', (backend) => {
  let db: StoreDb<unknown>;
  const schema = freshSchemaName('kf_migrate');
  afterEach(async () => {
    await db.close();
    if (backend === 'postgres') await dropSchema(schema);
  });

  it('applies the missing lower versions, each once, and refuses an unknown one', async () => {
    db = backend === 'sqlite' ? openSqlite(':memory:') : openPostgres<unknown>(POSTGRES_TEST_URL, schema, { appName: 'test' }).db;
    const rows = async (text: string) => (await sql.raw<{ name: string }>(text).execute(db.k)).rows.map((r) => r.name);
    await migrate(db, set(1, 2, 9));
    await migrate(db, set(1, 2, 6, 7, 8, 9));
    expect(await rows('SELECT name FROM test_migrations ORDER BY name')).toEqual(['0001', '0002', '0006', '0007', '0008', '0009']);
    const tables =
      backend === 'sqlite'
        ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 't[0-9]*' ORDER BY name"
        : `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = '${schema}' AND table_name ~ '^t[0-9]+$' ORDER BY table_name`;
    expect(await rows(tables)).toEqual(['t1', 't2', 't6', 't7', 't8', 't9']);
    // Again: nothing to do, nothing applied twice (a second CREATE TABLE would fail).
    await migrate(db, set(1, 2, 6, 7, 8, 9));
    await expect(migrate(db, set(1, 2, 6, 7, 8))).rejects.toThrow(
      'The test database is at schema version 9, newer than this keyfleet knows (8). Upgrade keyfleet.',
    );
  });
});
