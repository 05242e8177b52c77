import type { Migration } from './sql/migrate.js';

/**
 * Migration 3 of keyfleet's state: what a dashboard restart used to lose. Kept apart from
 * state-migrations.ts, which lists it.
 *
 * `dashboard_sessions` holds admin sessions, keyed by the SHA-256 (hex) of the session id the cookie
 * carries: the id itself is never stored, and the session's CSRF token is derived from the id
 * (auth/sessions.ts), so a copy of this table opens nothing. Sessions end at `expires_at` (absolute,
 * not sliding); expired rows are deleted as logins come and on sight.
 *
 * `run_sites.changes_json` is the JSON array of setting names a site's push wrote (or, in a dry run,
 * would write) — names only, never a value — so a preview read after a restart is complete. NULL
 * means the writer did not say (rows written before this migration, results recorded without it).
 */
export const SESSIONS_AND_CHANGES_MIGRATION: Migration = {
  version: 3,
  description: 'dashboard_sessions and run_sites.changes_json',
  sqlite: `
    CREATE TABLE dashboard_sessions (
      id_hash TEXT PRIMARY KEY,
      actor TEXT NOT NULL,
      address TEXT,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      last_seen_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
    ALTER TABLE run_sites ADD COLUMN changes_json TEXT;
  `,
  postgres: `
    CREATE TABLE IF NOT EXISTS dashboard_sessions (
      id_hash TEXT PRIMARY KEY,
      actor TEXT NOT NULL,
      address TEXT,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      last_seen_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS dashboard_sessions_expiry ON dashboard_sessions (expires_at);
    ALTER TABLE run_sites ADD COLUMN IF NOT EXISTS changes_json TEXT;
  `,
};
