import type { Database } from 'better-sqlite3';
import type { PoolClient } from 'pg';

/**
 * Schema migrations of the template site's store, one numbered entry per change, written for both
 * backends side by side so they cannot drift. Applied versions are recorded in
 * `settings_schema_migrations`; a new migration is a new entry at the end, never an edit of an old one.
 *
 * Postgres statements are unqualified: the runner sets `search_path` to the store's schema for the
 * migration transaction only.
 *
 * @example // adding a column later: append, never edit version 1
 *   { version: 2, description: 'settings_audit.user_agent',
 *     sqlite: 'ALTER TABLE settings_audit ADD COLUMN user_agent TEXT',
 *     postgres: 'ALTER TABLE settings_audit ADD COLUMN IF NOT EXISTS user_agent TEXT' }
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sqlite: string;
  readonly postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'admin_settings and the append-only settings_audit',
    // Timestamps are ISO-8601 UTC text, written by the store, so SQLite sorts and returns them as-is.
    // IF NOT EXISTS adopts an admin_settings table left by the seed app.
    sqlite: `
      CREATE TABLE IF NOT EXISTS admin_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS settings_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL,
        fingerprint TEXT,
        actor_ip TEXT,
        at TEXT NOT NULL
      );
      CREATE TRIGGER IF NOT EXISTS settings_audit_no_update BEFORE UPDATE ON settings_audit
        BEGIN SELECT RAISE(ABORT, 'settings_audit is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS settings_audit_no_delete BEFORE DELETE ON settings_audit
        BEGIN SELECT RAISE(ABORT, 'settings_audit is append-only'); END;
    `,
    postgres: `
      CREATE TABLE IF NOT EXISTS admin_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
      );
      CREATE TABLE IF NOT EXISTS settings_audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key TEXT NOT NULL,
        fingerprint TEXT,
        actor_ip TEXT,
        at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
      );
      CREATE OR REPLACE FUNCTION settings_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'settings_audit is append-only'; END $$;
      DROP TRIGGER IF EXISTS settings_audit_append_only ON settings_audit;
      CREATE TRIGGER settings_audit_append_only BEFORE UPDATE OR DELETE ON settings_audit
        FOR EACH ROW EXECUTE FUNCTION settings_audit_append_only();
    `,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS settings_schema_migrations (
  version INTEGER PRIMARY KEY,
  applied_at TEXT NOT NULL
)`;

/** Refuses a database written by a newer keyfleet: running old code on it could corrupt it silently. */
function pending(current: number): Migration[] {
  if (current > LATEST_SCHEMA_VERSION) {
    throw new Error(
      `The settings database is at schema version ${current}, newer than this keyfleet knows (${LATEST_SCHEMA_VERSION}). Upgrade keyfleet.`,
    );
  }
  return MIGRATIONS.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
}

/** Applies pending migrations in one immediate transaction (other processes wait on the write lock). Returns the version. */
export function migrateSqlite(db: Database): number {
  const run = db.transaction(() => {
    db.exec(VERSION_TABLE);
    const row = db.prepare('SELECT MAX(version) AS v FROM settings_schema_migrations').get() as {
      v: number | null;
    };
    const record = db.prepare('INSERT INTO settings_schema_migrations (version, applied_at) VALUES (?, ?)');
    for (const m of pending(row.v ?? 0)) {
      db.exec(m.sqlite);
      record.run(m.version, new Date().toISOString());
    }
  });
  run.immediate();
  return LATEST_SCHEMA_VERSION;
}

/**
 * Applies pending migrations in one transaction. An advisory lock per schema serialises instances
 * starting together, so neither fails on the other's half-created tables.
 */
export async function migratePostgres(client: PoolClient, schema: string): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`keyfleet.settings.migrate:${schema}`]);
    // Checked first so an existing schema needs no CREATE privilege on the database.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    await client.query(VERSION_TABLE);
    const res = await client.query<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM settings_schema_migrations',
    );
    for (const m of pending(res.rows[0]?.v ?? 0)) {
      await client.query(m.postgres);
      await client.query('INSERT INTO settings_schema_migrations (version, applied_at) VALUES ($1, $2)', [
        m.version,
        new Date().toISOString(),
      ]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return LATEST_SCHEMA_VERSION;
}

/** Quotes a Postgres identifier (schema names come from configuration and tests, not from requests). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
