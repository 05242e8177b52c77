import type { Migration } from './sql/migrate.js';

/**
 * Migration 5 of keyfleet's state: one worker per site of a shared run. Kept apart from
 * state-migrations.ts, which lists it.
 *
 * - `runs.coordination`: a random id drawn each time a run is created or reopened (resumed). A
 *   shared run's jobs carry the id of the coordination that queued them; a job of an older one (left
 *   in the queue from before an interruption) is dropped by the worker that gets it.
 * - `run_sites.claimed_by`, `claimed_at` (ISO-8601 UTC): the job that works a site, claimed in one
 *   conditional UPDATE before the site is touched, so two jobs (an expired job given out while its
 *   first worker still works, the same sites queued twice) never work one site at once. A claim
 *   older than the job expiry is taken for its worker's death and can be taken over.
 */
export const RUN_CLAIMS_MIGRATION: Migration = {
  version: 5,
  description: 'runs.coordination and run_sites.claimed_by/claimed_at (one worker per site of a shared run)',
  sqlite: `
    ALTER TABLE runs ADD COLUMN coordination TEXT;
    ALTER TABLE run_sites ADD COLUMN claimed_by TEXT;
    ALTER TABLE run_sites ADD COLUMN claimed_at TEXT;
  `,
  postgres: `
    ALTER TABLE runs ADD COLUMN IF NOT EXISTS coordination TEXT;
    ALTER TABLE run_sites ADD COLUMN IF NOT EXISTS claimed_by TEXT;
    ALTER TABLE run_sites ADD COLUMN IF NOT EXISTS claimed_at TEXT;
  `,
};
