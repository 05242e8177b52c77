import type { Migration } from './sql/migrate.js';

/**
 * Migration 8 of keyfleet's state (issue 14, point 2): `run_sites.worker`, who recorded a site's
 * result — KEYFLEET_WORKER_NAME, else `<host>:<pid>` (`workerName()`), so a shared run's per-site
 * results say which dashboard worked each site. NULL on rows written before it. Kept apart from
 * state-migrations.ts, which lists it.
 */
export const RUN_WORKER_MIGRATION: Migration = {
  version: 8,
  description: 'run_sites.worker (which process worked each site of a run)',
  sqlite: `ALTER TABLE run_sites ADD COLUMN worker TEXT;`,
  postgres: `ALTER TABLE run_sites ADD COLUMN IF NOT EXISTS worker TEXT;`,
};
