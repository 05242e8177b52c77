import type { Migration } from './sql/migrate.js';

/**
 * Migration 9 of keyfleet's state (issue 11): the keys each site was last seen holding, by
 * fingerprint, so the safe-to-roll advice can reason about keys rather than versions — a key may be
 * retired in Stripe only when no site wants it and no site was last seen holding it. Kept apart from
 * state-migrations.ts, which lists it.
 *
 * One row per site and setting that was read: `fingerprint` NULL means the site was seen holding no
 * value for that setting; no row means it was never read (or its protocol cannot tell, as a seed
 * site's secret). Rows go with their site.
 */
export const HELD_KEYS_MIGRATION: Migration = {
  version: 9,
  description: 'fleet_site_held_keys (what each site was last seen holding, by fingerprint)',
  sqlite: `
    CREATE TABLE fleet_site_held_keys (
      site_id TEXT NOT NULL REFERENCES fleet_sites (id) ON DELETE CASCADE,
      setting TEXT NOT NULL,
      fingerprint TEXT,
      seen_at TEXT NOT NULL,
      PRIMARY KEY (site_id, setting)
    ) WITHOUT ROWID;
    CREATE INDEX fleet_site_held_keys_key ON fleet_site_held_keys (setting, fingerprint);
  `,
  postgres: `
    CREATE TABLE IF NOT EXISTS fleet_site_held_keys (
      site_id TEXT NOT NULL REFERENCES fleet_sites (id) ON DELETE CASCADE,
      setting TEXT NOT NULL,
      fingerprint TEXT,
      seen_at TEXT NOT NULL,
      PRIMARY KEY (site_id, setting)
    );
    CREATE INDEX IF NOT EXISTS fleet_site_held_keys_key ON fleet_site_held_keys (setting, fingerprint);
  `,
};
