import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runSqliteMigrations, type Migration, type MigrationSet } from '../../src/store/migration-runner.js';

const m = (version: number): Migration => ({
  version,
  description: `table t${version}`,
  sqlite: `CREATE TABLE t${version} (x INTEGER);`,
  postgres: `CREATE TABLE t${version} (x INTEGER);`,
});
const set = (...versions: number[]): MigrationSet => ({
  name: 'test',
  label: 'The test database',
  table: 'test_schema_migrations',
  migrations: versions.map(m),
});

/**
 * Migration numbers are reserved per branch (issue 11 has 9, others 6–8): a database that got 9
 * first still gets 6, 7 and 8 once they exist; one written by a newer keyfleet is still refused.
 */
describe('migrations: a version reserved below the highest applied is applied when it arrives', () => {
  it('applies the missing lower versions, each once, and refuses an unknown one', () => {
    const db = new Database(':memory:');
    runSqliteMigrations(db, set(1, 2, 9));
    runSqliteMigrations(db, set(1, 2, 6, 7, 8, 9));
    const versions = (db.prepare('SELECT version FROM test_schema_migrations ORDER BY version').all() as Array<{ version: number }>).map((r) => r.version);
    expect(versions).toEqual([1, 2, 6, 7, 8, 9]);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 't[0-9]*' ORDER BY name").all();
    expect(tables.map((t) => (t as { name: string }).name)).toEqual(['t1', 't2', 't6', 't7', 't8', 't9']);
    // Again: nothing to do.
    runSqliteMigrations(db, set(1, 2, 6, 7, 8, 9));
    expect(() => runSqliteMigrations(db, set(1, 2, 6, 7, 8))).toThrow(
      'The test database is at schema version 9, newer than this keyfleet knows (8). Upgrade keyfleet.',
    );
  });
});
