/**
 * The tables of keyfleet's two databases, typed for Kysely: one description serves both backends.
 * Column types are what the stores write and read back on either one: timestamps of the state
 * database are ISO-8601 UTC text on both; booleans are written as JS booleans (the SQLite connection
 * binds them as 1/0) and read back as `0 | 1` on SQLite, `boolean` on Postgres — read them with
 * `Boolean()`. Postgres BIGINT columns (`seq`, identity ids) arrive as strings: read them with `Number()`.
 */
import type { Generated } from 'kysely';

type Bool = boolean | 0 | 1;
type BigId = number | string;

export interface RunsTable {
  seq: Generated<BigId>;
  id: string; command: string; dry_run: Bool; state: string; started_at: string; finished_at: string | null; actor: string;
  sites_source: string | null; keys_json: string; options_json: string; key_version_id: string | null;
  total: Generated<number>; ok: Generated<number>; failed: Generated<number>; skipped: Generated<number>;
  unchanged: Generated<number>;
  owner_pid: number | null; owner_host: string | null; owner_heartbeat_at: string | null; coordination: string | null;
}

export interface RunSitesTable {
  run_id: string; url: string; position: number; status: string;
  verified: Generated<Bool>; attempts: Generated<number>; duration_ms: Generated<number>;
  error_json: string | null; before_json: string | null; updated_at: string | null; changes_json: string | null;
  claimed_by: string | null; claimed_at: string | null; worker: string | null;
}

export interface FleetSitesTable {
  seq: Generated<BigId>;
  id: string; url: string; name: string; api_key_sealed: string | null; desired_version_id: string | null;
  source: string; added_at: string; added_by: string;
  reachable: Bool | null; pk_as_desired: Bool | null; sk_as_desired: Bool | null; mode: string | null;
  latency_ms: number | null; checked_at: string | null; problem: string | null; checked_version_id: string | null;
  approval: Generated<string>; approved_at: string | null; approved_by: string | null;
}

export interface AuditLogTable {
  seq: Generated<BigId>;
  at: string; actor: string; action: string; target: string | null; detail_json: string;
}

export interface DashboardSessionsTable {
  id_hash: string; actor: string; address: string | null; created_at: string; expires_at: string; last_seen_at: string;
}

/** keyfleet's state database (CLI runs, key vault, the dashboard's fleet): state-migrations.ts. */
export interface StateTables {
  runs: RunsTable;
  run_sites: RunSitesTable;
  key_versions: { id: string; seq: number; fingerprint_set: string; created_at: string; created_by: string };
  key_version_values: {
    version_id: string; setting: string; fingerprint: string; last4: string; mode: string | null; prefix: string; sealed: string;
  };
  fleet_sites: FleetSitesTable;
  fleet_site_tags: { site_id: string; tag: string; position: number };
  fleet_desired: { scope: string; version_id: string; updated_at: string; updated_by: string };
  audit_log: AuditLogTable;
  key_safe_to_roll: { version_id: string; verified_at: string; sites: number };
  dashboard_sessions: DashboardSessionsTable;
  site_protocols: { url: string; protocol: 'keyfleet' | 'seed'; detected_at: string };
  fleet_site_held_keys: { site_id: string; setting: string; fingerprint: string | null; seen_at: string };
}

/**
 * The template site's settings database: settings-migrations.ts. `updated_at` and `at` are TEXT on
 * SQLite and TIMESTAMPTZ on Postgres (the settings store reads them through its dialect's `iso`).
 */
export interface SettingsTables {
  admin_settings: { key: string; value: string; updated_at: string | Date };
  settings_audit: { id: Generated<BigId>; key: string; fingerprint: string | null; actor_ip: string | null; at: string | Date };
  settings_generation: { id: number; n: BigId };
}
