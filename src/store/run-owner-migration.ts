import type { Migration } from './sql/migrate.js';

/**
 * Migration 4 of keyfleet's state: the heartbeat of a run's coordinator. Kept apart from
 * state-migrations.ts, which lists it.
 *
 * On Postgres several dashboards share a run (DESIGN §3): one coordinates it, every one works its
 * sites. A pid can only be checked on its own machine, so `owner_heartbeat_at` (ISO-8601 UTC, written
 * every few seconds by the dashboard coordinating the run) is what tells another machine whether the
 * run's owner is alive: markInterrupted leaves a run with a fresh heartbeat alone and takes one whose
 * heartbeat went stale. NULL means the owner does not beat (a `keyfleet push` from the CLI): the pid
 * rule alone applies, as before.
 */
export const RUN_OWNER_HEARTBEAT_MIGRATION: Migration = {
  version: 4,
  description: 'runs.owner_heartbeat_at (a shared run coordinator heartbeat)',
  sqlite: `ALTER TABLE runs ADD COLUMN owner_heartbeat_at TEXT;`,
  postgres: `ALTER TABLE runs ADD COLUMN IF NOT EXISTS owner_heartbeat_at TEXT;`,
};
