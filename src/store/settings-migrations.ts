import { latestVersion, type Migration, type MigrationSet } from './sql/migrate.js';

/**
 * Schema migrations of the template site's store, both backends side by side so they cannot drift;
 * a change is a new entry at the end, never an edit of an old one. Applied ones are recorded in
 * `settings_migrations` (releases before Kysely: `settings_schema_migrations`, adopted). Postgres
 * statements are unqualified: every connection's `search_path` is the store's schema.
 *
 * @example { version: 3, description: 'settings_audit.user_agent',
 *   sqlite: 'ALTER TABLE settings_audit ADD COLUMN user_agent TEXT',
 *   postgres: 'ALTER TABLE settings_audit ADD COLUMN IF NOT EXISTS user_agent TEXT' }
 */
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
  {
    version: 2,
    description: 'settings_generation: one counter bumped by every write, in the write\'s transaction',
    // Issue 10/14.4: instances compare it with their cache's generation (read-after-write, whole
    // snapshots). Writers lock this row first, so it increases in commit order.
    sqlite: `
      CREATE TABLE IF NOT EXISTS settings_generation (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        n INTEGER NOT NULL
      );
      INSERT OR IGNORE INTO settings_generation (id, n) VALUES (1, 0);
    `,
    postgres: `
      CREATE TABLE IF NOT EXISTS settings_generation (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        n BIGINT NOT NULL
      );
      INSERT INTO settings_generation (id, n) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
    `,
  },
];

export const SETTINGS_MIGRATION_SET: MigrationSet = {
  name: 'settings', label: 'The settings database', legacyTable: 'settings_schema_migrations', migrations: MIGRATIONS,
};

export const LATEST_SCHEMA_VERSION = latestVersion(SETTINGS_MIGRATION_SET);
