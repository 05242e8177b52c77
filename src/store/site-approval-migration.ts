import type { Migration } from './sql/migrate.js';

/**
 * Migration 7 of keyfleet's state (issue 12): a site that registered itself with the registration
 * token is `pending` until an admin approves it; no push, run or verify ever reaches a pending site.
 * Every site that existed before is `approved` (an admin or an import added it, or it registered when
 * the token was trusted with the keys). Kept apart from state-migrations.ts, which lists it.
 *
 * - `fleet_sites.approval`: `approved` | `pending`.
 * - `approved_at` (ISO-8601 UTC), `approved_by` (the admin or `allow-list`): null until approved.
 */
export const SITE_APPROVAL_MIGRATION: Migration = {
  version: 7,
  description: 'fleet_sites.approval, approved_at and approved_by (registered sites wait for an admin)',
  sqlite: `
    ALTER TABLE fleet_sites ADD COLUMN approval TEXT NOT NULL DEFAULT 'approved';
    ALTER TABLE fleet_sites ADD COLUMN approved_at TEXT;
    ALTER TABLE fleet_sites ADD COLUMN approved_by TEXT;
  `,
  postgres: `
    ALTER TABLE fleet_sites ADD COLUMN IF NOT EXISTS approval TEXT NOT NULL DEFAULT 'approved';
    ALTER TABLE fleet_sites ADD COLUMN IF NOT EXISTS approved_at TEXT;
    ALTER TABLE fleet_sites ADD COLUMN IF NOT EXISTS approved_by TEXT;
  `,
};
