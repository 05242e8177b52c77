import { latestVersion, type Migration, type MigrationSet } from './sql/migrate.js';

/**
 * Schema migrations of keyfleet's own state (runs, per-site results, key vault, the dashboard's
 * fleet): numbered entries, applied ones recorded by Kysely's migrator in `state_migrations`
 * (releases before it: `state_schema_migrations`, adopted). A change is a new entry at the end, never
 * an edit: existing databases were made by these texts.
 *
 * Each entry is written once; `both` turns it into the two dialects' SQL. Timestamps are ISO-8601 UTC
 * text on both backends: the store writes them, and text keeps the values identical whichever
 * backend a run was recorded on.
 */

/** The words the two dialects spell differently; everything else in a migration is common SQL. */
const SPELLING = {
  ID: ['INTEGER PRIMARY KEY', 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY'],
  BOOL: ['INTEGER', 'BOOLEAN'],
  FALSE: ['0', 'FALSE'],
  NOROWID: [' WITHOUT ROWID', ''],
  // SQLite has no ADD COLUMN IF NOT EXISTS; its migrations run exactly once in their transaction.
  IFNX: ['', ' IF NOT EXISTS'],
} as const;

function both(version: number, description: string, text: string): Migration {
  const spell = (i: 0 | 1) =>
    text.replace(/\{(ID|BOOL|FALSE|NOROWID|IFNX)\}/g, (_, w: keyof typeof SPELLING) => SPELLING[w][i]);
  return { version, description, sqlite: spell(0), postgres: spell(1) };
}

export const STATE_MIGRATIONS: readonly Migration[] = [
  // runs.seq orders runs started in the same millisecond. Counts are frozen when a run ends (computed
  // from run_sites while it runs); owner_pid/owner_host: which process may still be writing it.
  both(1, 'runs, run_sites, key_versions and key_version_values', `
    CREATE TABLE IF NOT EXISTS runs (
      seq {ID}, id TEXT NOT NULL UNIQUE, command TEXT NOT NULL, dry_run {BOOL} NOT NULL,
      state TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, actor TEXT NOT NULL,
      sites_source TEXT, keys_json TEXT NOT NULL, options_json TEXT NOT NULL, key_version_id TEXT,
      total INTEGER NOT NULL DEFAULT 0, ok INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
      skipped INTEGER NOT NULL DEFAULT 0, unchanged INTEGER NOT NULL DEFAULT 0,
      owner_pid INTEGER, owner_host TEXT
    );
    CREATE INDEX IF NOT EXISTS runs_running ON runs (state) WHERE state = 'running';
    CREATE TABLE IF NOT EXISTS run_sites (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, url TEXT NOT NULL,
      position INTEGER NOT NULL, status TEXT NOT NULL, verified {BOOL} NOT NULL DEFAULT {FALSE},
      attempts INTEGER NOT NULL DEFAULT 0, duration_ms INTEGER NOT NULL DEFAULT 0,
      error_json TEXT, before_json TEXT, updated_at TEXT,
      PRIMARY KEY (run_id, url)
    ){NOROWID};
    CREATE INDEX IF NOT EXISTS run_sites_order ON run_sites (run_id, position);
    CREATE TABLE IF NOT EXISTS key_versions (
      id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, fingerprint_set TEXT NOT NULL UNIQUE,
      created_at TEXT NOT NULL, created_by TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS key_version_values (
      version_id TEXT NOT NULL REFERENCES key_versions (id) ON DELETE CASCADE, setting TEXT NOT NULL,
      fingerprint TEXT NOT NULL, last4 TEXT NOT NULL, mode TEXT, prefix TEXT NOT NULL, sealed TEXT NOT NULL,
      PRIMARY KEY (version_id, setting)
    );
    CREATE INDEX IF NOT EXISTS key_version_values_lookup ON key_version_values (setting, fingerprint);`),

  // The dashboard's fleet registry (fleet-store.ts); health columns are NULL until a site is checked;
  // fleet_desired.scope is `fleet` (the default) or `tag:<name>` (an override).
  both(2, 'fleet_sites, fleet_site_tags, fleet_desired, audit_log and key_safe_to_roll', `
    CREATE TABLE IF NOT EXISTS fleet_sites (
      seq {ID}, id TEXT NOT NULL UNIQUE, url TEXT NOT NULL UNIQUE, name TEXT NOT NULL UNIQUE,
      api_key_sealed TEXT, desired_version_id TEXT REFERENCES key_versions (id), source TEXT NOT NULL,
      added_at TEXT NOT NULL, added_by TEXT NOT NULL, reachable {BOOL}, pk_as_desired {BOOL},
      sk_as_desired {BOOL}, mode TEXT, latency_ms INTEGER, checked_at TEXT, problem TEXT,
      checked_version_id TEXT
    );
    CREATE TABLE IF NOT EXISTS fleet_site_tags (
      site_id TEXT NOT NULL REFERENCES fleet_sites (id) ON DELETE CASCADE, tag TEXT NOT NULL,
      position INTEGER NOT NULL, PRIMARY KEY (site_id, tag)
    ){NOROWID};
    CREATE INDEX IF NOT EXISTS fleet_site_tags_tag ON fleet_site_tags (tag);
    CREATE TABLE IF NOT EXISTS fleet_desired (
      scope TEXT PRIMARY KEY, version_id TEXT NOT NULL REFERENCES key_versions (id),
      updated_at TEXT NOT NULL, updated_by TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS audit_log (
      seq {ID}, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT,
      detail_json TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS key_safe_to_roll (
      version_id TEXT PRIMARY KEY REFERENCES key_versions (id), verified_at TEXT NOT NULL,
      sites INTEGER NOT NULL
    );`),

  // Admin sessions, keyed by the SHA-256 of the session id (never the id: a copy of the table opens
  // nothing). run_sites.changes_json: the setting names a push wrote, never a value.
  both(3, 'dashboard_sessions and run_sites.changes_json', `
    CREATE TABLE IF NOT EXISTS dashboard_sessions (
      id_hash TEXT PRIMARY KEY, actor TEXT NOT NULL, address TEXT, created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL, last_seen_at TEXT NOT NULL
    ){NOROWID};
    CREATE INDEX IF NOT EXISTS dashboard_sessions_expiry ON dashboard_sessions (expires_at);
    ALTER TABLE run_sites ADD COLUMN{IFNX} changes_json TEXT;`),

  // A pid can only be checked on its own machine: another machine judges a shared run's coordinator
  // by this heartbeat. NULL: the owner does not beat (a CLI push); the pid rule alone applies.
  both(4, 'runs.owner_heartbeat_at (a shared run coordinator heartbeat)', `
    ALTER TABLE runs ADD COLUMN{IFNX} owner_heartbeat_at TEXT;`),

  // runs.coordination: drawn when a run is created or reopened (a job of an older one is dropped).
  // A site is claimed in one conditional UPDATE; a claim older than the job expiry can be taken over.
  both(5, 'runs.coordination and run_sites.claimed_by/claimed_at (one worker per site of a shared run)', `
    ALTER TABLE runs ADD COLUMN{IFNX} coordination TEXT;
    ALTER TABLE run_sites ADD COLUMN{IFNX} claimed_by TEXT;
    ALTER TABLE run_sites ADD COLUMN{IFNX} claimed_at TEXT;`),

  // Issue 9: the protocol each site was last found to speak, keyed by normalised URL; the inventory's
  // `protocol` and --protocol still win.
  both(6, 'site_protocols: the protocol each site was last detected to speak', `
    CREATE TABLE IF NOT EXISTS site_protocols (
      url TEXT PRIMARY KEY, protocol TEXT NOT NULL CHECK (protocol IN ('keyfleet', 'seed')),
      detected_at TEXT NOT NULL
    );`),

  // Issue 12: a site that registered itself is `pending` until an admin approves it; every site that
  // existed before is `approved`. approved_by is the admin or `allow-list`.
  both(7, 'fleet_sites.approval, approved_at and approved_by (registered sites wait for an admin)', `
    ALTER TABLE fleet_sites ADD COLUMN{IFNX} approval TEXT NOT NULL DEFAULT 'approved';
    ALTER TABLE fleet_sites ADD COLUMN{IFNX} approved_at TEXT;
    ALTER TABLE fleet_sites ADD COLUMN{IFNX} approved_by TEXT;`),

  // Issue 14: who recorded a site's result (KEYFLEET_WORKER_NAME, else <host>:<pid>); NULL before it.
  both(8, 'run_sites.worker (which process worked each site of a run)', `
    ALTER TABLE run_sites ADD COLUMN{IFNX} worker TEXT;`),

  // Issue 11: the keys each site was last seen holding, by fingerprint, for the safe-to-roll advice.
  // fingerprint NULL: seen holding no value; no row: never read (or its protocol cannot tell).
  both(9, 'fleet_site_held_keys (what each site was last seen holding, by fingerprint)', `
    CREATE TABLE IF NOT EXISTS fleet_site_held_keys (
      site_id TEXT NOT NULL REFERENCES fleet_sites (id) ON DELETE CASCADE, setting TEXT NOT NULL,
      fingerprint TEXT, seen_at TEXT NOT NULL, PRIMARY KEY (site_id, setting)
    ){NOROWID};
    CREATE INDEX IF NOT EXISTS fleet_site_held_keys_key ON fleet_site_held_keys (setting, fingerprint);`),
];

export const STATE_MIGRATION_SET: MigrationSet = {
  name: 'state',
  label: "keyfleet's state database",
  legacyTable: 'state_schema_migrations',
  migrations: STATE_MIGRATIONS,
};

export const LATEST_STATE_SCHEMA_VERSION = latestVersion(STATE_MIGRATION_SET);
