import type { Migration } from './sql/migrate.js';

/**
 * Migration 2 of keyfleet's state: the dashboard's fleet registry, desired versions, audit log and
 * safe-to-roll records (fleet-store.ts). Kept apart from state-migrations.ts, which lists it.
 *
 * A site's tags are rows of `fleet_site_tags` (filtering by tag is an index lookup on both backends).
 * Health columns are NULL until the site is first checked. `fleet_desired.scope` is `fleet` for the
 * default or `tag:<name>` for an override.
 */
const SQLITE = `
  CREATE TABLE fleet_sites (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    api_key_sealed TEXT,
    desired_version_id TEXT REFERENCES key_versions (id),
    source TEXT NOT NULL,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL,
    reachable INTEGER,
    pk_as_desired INTEGER,
    sk_as_desired INTEGER,
    mode TEXT,
    latency_ms INTEGER,
    checked_at TEXT,
    problem TEXT,
    checked_version_id TEXT
  );
  CREATE TABLE fleet_site_tags (
    site_id TEXT NOT NULL REFERENCES fleet_sites (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (site_id, tag)
  ) WITHOUT ROWID;
  CREATE INDEX fleet_site_tags_tag ON fleet_site_tags (tag);
  CREATE TABLE fleet_desired (
    scope TEXT PRIMARY KEY,
    version_id TEXT NOT NULL REFERENCES key_versions (id),
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
  );
  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail_json TEXT NOT NULL
  );
  CREATE TABLE key_safe_to_roll (
    version_id TEXT PRIMARY KEY REFERENCES key_versions (id),
    verified_at TEXT NOT NULL,
    sites INTEGER NOT NULL
  );
`;

const POSTGRES = `
  CREATE TABLE IF NOT EXISTS fleet_sites (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    api_key_sealed TEXT,
    desired_version_id TEXT REFERENCES key_versions (id),
    source TEXT NOT NULL,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL,
    reachable BOOLEAN,
    pk_as_desired BOOLEAN,
    sk_as_desired BOOLEAN,
    mode TEXT,
    latency_ms INTEGER,
    checked_at TEXT,
    problem TEXT,
    checked_version_id TEXT
  );
  CREATE TABLE IF NOT EXISTS fleet_site_tags (
    site_id TEXT NOT NULL REFERENCES fleet_sites (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (site_id, tag)
  );
  CREATE INDEX IF NOT EXISTS fleet_site_tags_tag ON fleet_site_tags (tag);
  CREATE TABLE IF NOT EXISTS fleet_desired (
    scope TEXT PRIMARY KEY,
    version_id TEXT NOT NULL REFERENCES key_versions (id),
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS audit_log (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail_json TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS key_safe_to_roll (
    version_id TEXT PRIMARY KEY REFERENCES key_versions (id),
    verified_at TEXT NOT NULL,
    sites INTEGER NOT NULL
  );
`;

export const FLEET_MIGRATION: Migration = {
  version: 2,
  description: 'fleet_sites, fleet_site_tags, fleet_desired, audit_log and key_safe_to_roll',
  sqlite: SQLITE,
  postgres: POSTGRES,
};
