import type { Migration } from './sql/migrate.js';

/**
 * State migration 6 (issue 9): the protocol each site was last found to speak (`keyfleet` or `seed`),
 * so a later run neither probes a seed site's missing health view again nor forgets which proof it
 * can give. Keyed by normalised site URL; the inventory's `protocol` and `--protocol` still win.
 */
export const SITE_PROTOCOLS_MIGRATION: Migration = {
  version: 6,
  description: 'site_protocols: the protocol each site was last detected to speak',
  sqlite: `
    CREATE TABLE IF NOT EXISTS site_protocols (
      url TEXT PRIMARY KEY,
      protocol TEXT NOT NULL CHECK (protocol IN ('keyfleet', 'seed')),
      detected_at TEXT NOT NULL
    );
  `,
  postgres: `
    CREATE TABLE IF NOT EXISTS site_protocols (
      url TEXT PRIMARY KEY,
      protocol TEXT NOT NULL CHECK (protocol IN ('keyfleet', 'seed')),
      detected_at TEXT NOT NULL
    );
  `,
};
