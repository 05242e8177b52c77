import { FLEET_MIGRATION } from './fleet-migrations.js';
import { HELD_KEYS_MIGRATION } from './held-keys-migration.js';
import { RUN_CLAIMS_MIGRATION } from './run-claims-migration.js';
import { RUN_OWNER_HEARTBEAT_MIGRATION } from './run-owner-migration.js';
import { RUN_WORKER_MIGRATION } from './run-worker-migration.js';
import { SESSIONS_AND_CHANGES_MIGRATION } from './session-migrations.js';
import { SITE_PROTOCOLS_MIGRATION } from './site-protocols-migration.js';
import { SITE_APPROVAL_MIGRATION } from './site-approval-migration.js';
import { latestVersion, type Migration, type MigrationSet } from './sql/migrate.js';

/**
 * Schema migrations of keyfleet's own state (runs, per-site results, key vault), in the same form as
 * the template site's `settings-migrations.ts`: numbered entries, both backends side by side, applied
 * ones recorded by Kysely's migrator in `state_migrations` (releases before it:
 * `state_schema_migrations`, adopted). A change is a new entry at the end, never an edit.
 *
 * Timestamps are ISO-8601 UTC text on both backends: the store writes them, and text keeps the
 * values identical whichever backend a run was recorded on.
 */
export const STATE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'runs, run_sites, key_versions and key_version_values',
    // runs.seq orders runs newest first even when two start in the same millisecond. Summary counts
    // are frozen on the run when it ends; while it runs they are computed from run_sites.
    // owner_pid/owner_host say which process may still be writing a `running` run.
    sqlite: `
      CREATE TABLE runs (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        command TEXT NOT NULL,
        dry_run INTEGER NOT NULL,
        state TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        actor TEXT NOT NULL,
        sites_source TEXT,
        keys_json TEXT NOT NULL,
        options_json TEXT NOT NULL,
        key_version_id TEXT,
        total INTEGER NOT NULL DEFAULT 0,
        ok INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        owner_pid INTEGER,
        owner_host TEXT
      );
      CREATE INDEX runs_running ON runs (state) WHERE state = 'running';
      CREATE TABLE run_sites (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        url TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        verified INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        duration_ms INTEGER NOT NULL DEFAULT 0,
        error_json TEXT,
        before_json TEXT,
        updated_at TEXT,
        PRIMARY KEY (run_id, url)
      ) WITHOUT ROWID;
      CREATE INDEX run_sites_order ON run_sites (run_id, position);
      CREATE TABLE key_versions (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        fingerprint_set TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
      );
      CREATE TABLE key_version_values (
        version_id TEXT NOT NULL REFERENCES key_versions (id) ON DELETE CASCADE,
        setting TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        last4 TEXT NOT NULL,
        mode TEXT,
        prefix TEXT NOT NULL,
        sealed TEXT NOT NULL,
        PRIMARY KEY (version_id, setting)
      );
      CREATE INDEX key_version_values_lookup ON key_version_values (setting, fingerprint);
    `,
    postgres: `
      CREATE TABLE IF NOT EXISTS runs (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        command TEXT NOT NULL,
        dry_run BOOLEAN NOT NULL,
        state TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        actor TEXT NOT NULL,
        sites_source TEXT,
        keys_json TEXT NOT NULL,
        options_json TEXT NOT NULL,
        key_version_id TEXT,
        total INTEGER NOT NULL DEFAULT 0,
        ok INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        owner_pid INTEGER,
        owner_host TEXT
      );
      CREATE INDEX IF NOT EXISTS runs_running ON runs (state) WHERE state = 'running';
      CREATE TABLE IF NOT EXISTS run_sites (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        url TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        verified BOOLEAN NOT NULL DEFAULT FALSE,
        attempts INTEGER NOT NULL DEFAULT 0,
        duration_ms INTEGER NOT NULL DEFAULT 0,
        error_json TEXT,
        before_json TEXT,
        updated_at TEXT,
        PRIMARY KEY (run_id, url)
      );
      CREATE INDEX IF NOT EXISTS run_sites_order ON run_sites (run_id, position);
      CREATE TABLE IF NOT EXISTS key_versions (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        fingerprint_set TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS key_version_values (
        version_id TEXT NOT NULL REFERENCES key_versions (id) ON DELETE CASCADE,
        setting TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        last4 TEXT NOT NULL,
        mode TEXT,
        prefix TEXT NOT NULL,
        sealed TEXT NOT NULL,
        PRIMARY KEY (version_id, setting)
      );
      CREATE INDEX IF NOT EXISTS key_version_values_lookup ON key_version_values (setting, fingerprint);
    `,
  },
  FLEET_MIGRATION,
  SESSIONS_AND_CHANGES_MIGRATION,
  RUN_OWNER_HEARTBEAT_MIGRATION,
  RUN_CLAIMS_MIGRATION,
  SITE_PROTOCOLS_MIGRATION,
  SITE_APPROVAL_MIGRATION,
  RUN_WORKER_MIGRATION,
  HELD_KEYS_MIGRATION,
];

export const STATE_MIGRATION_SET: MigrationSet = {
  name: 'state',
  label: "keyfleet's state database",
  legacyTable: 'state_schema_migrations',
  migrations: STATE_MIGRATIONS,
};

export const LATEST_STATE_SCHEMA_VERSION = latestVersion(STATE_MIGRATION_SET);
