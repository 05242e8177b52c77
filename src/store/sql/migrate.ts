import { Migrator, sql } from './kysely.js';
import type { Migration as KyselyMigration } from 'kysely';
import type { StoreDb } from './store-db.js';

/**
 * One numbered schema change. The list is one for both backends; a change whose SQL differs between
 * them (types, triggers) gives both texts side by side, so they cannot drift.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sqlite: string;
  readonly postgres: string;
}

/** A database's migration list and where its applied migrations are recorded. */
export interface MigrationSet {
  /** `state` or `settings`: names the Kysely migration tables (`<name>_migrations`) and the lock. */
  readonly name: string;
  /** How an error names the database, e.g. "The settings database". */
  readonly label: string;
  /**
   * Where releases before Kysely recorded applied versions (`version`, `applied_at`): a database
   * made by one is adopted as it stands, its applied versions recorded as done.
   */
  readonly legacyTable: string;
  readonly migrations: readonly Migration[];
}

export function latestVersion(set: MigrationSet): number {
  return set.migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

/** The Kysely migration name of a version: zero-padded, so names sort as versions do. */
export const migrationName = (version: number): string => String(version).padStart(4, '0');

/**
 * Brings the database to the latest schema with Kysely's migrator. Versions are reserved per issue,
 * so a database can hold 9 before 6 is written: what is missing is applied, not only what is above
 * the highest. A database with a version this keyfleet does not know was written by a newer one and
 * is refused: running old code on it could corrupt it silently.
 *
 * @example await migrate(db, STATE_MIGRATION_SET); // on SQLite or Postgres alike
 */
export async function migrate<T>(typed: StoreDb<T>, set: MigrationSet): Promise<number> {
  const db = typed as unknown as StoreDb<unknown>;
  // Loaded only for Postgres: a CLI push on SQLite never loads pg.
  const pg = db.backend === 'postgres' ? await import('./postgres-db.js') : undefined;
  await pg?.ensureSchema(db);
  const table = `${set.name}_migrations`;
  const applied = await adoptLegacy(db, set, table);
  // Kysely's migrator first reads the whole schema: not needed at a start with every migration applied (most starts).
  if (set.migrations.some((m) => !applied.includes(migrationName(m.version)))) {
    const up = (m: Migration): KyselyMigration => ({ up: (trx) => db.script(trx, m[db.backend]) });
    const migrations = Object.fromEntries(set.migrations.map((m) => [migrationName(m.version), up(m)]));
    const migrator = new Migrator({
      db: db.k,
      provider: { getMigrations: async () => migrations },
      migrationTableName: table,
      migrationLockTableName: `${set.name}_migration_lock`,
      migrationTableSchema: db.schema,
      allowUnorderedMigrations: true,
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      const what = failed ? ` (migration ${failed.migrationName})` : '';
      throw new Error(`${set.label} could not be migrated${what}: ${(error as Error).message}`, { cause: error });
    }
  }
  await pg?.assertSchema(db);
  return latestVersion(set);
}

/**
 * Records the versions a database made before Kysely applied (its legacy table), and refuses one
 * with a version this keyfleet does not know — in one transaction under the migration lock, so two
 * processes starting together adopt once. The table's shape is the one Kysely's migrator creates.
 */
async function adoptLegacy(db: StoreDb<unknown>, set: MigrationSet, table: string): Promise<string[]> {
  const known = new Set(set.migrations.map((m) => migrationName(m.version)));
  const applied = await db.tx(async (trx) => {
    await db.lock(trx, `keyfleet.${set.name}.migrate:${db.schema ?? ''}`);
    await sql
      .raw(`CREATE TABLE IF NOT EXISTS ${table} (name varchar(255) NOT NULL PRIMARY KEY, timestamp varchar(255) NOT NULL)`)
      .execute(trx);
    if (await db.tableExists(trx, set.legacyTable)) {
      const { rows } = await sql<{ version: number | string }>`SELECT version FROM ${sql.table(set.legacyTable)}`.execute(trx);
      const at = new Date().toISOString();
      for (const r of rows) {
        await sql`INSERT INTO ${sql.table(table)} (name, timestamp) VALUES (${migrationName(Number(r.version))}, ${at})
          ON CONFLICT (name) DO NOTHING`.execute(trx);
      }
    }
    const { rows } = await sql<{ name: string }>`SELECT name FROM ${sql.table(table)}`.execute(trx);
    return rows.map((r) => r.name);
  });
  const unknown = applied.filter((name) => !known.has(name)).sort();
  if (unknown.length > 0) {
    const newest = Number(unknown[unknown.length - 1]);
    throw new Error(
      `${set.label} is at schema version ${newest}, newer than this keyfleet knows (${latestVersion(set)}). Upgrade keyfleet.`,
    );
  }
  return applied;
}
