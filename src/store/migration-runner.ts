import type { Database } from 'better-sqlite3';
import type { PoolClient } from 'pg';

/** One numbered schema change, written for both backends side by side so they cannot drift. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sqlite: string;
  readonly postgres: string;
}

/**
 * A database's list of migrations and where its applied versions are recorded. The settings store
 * (template site) and the state store (CLI, dashboard) each have one; both run through this one runner.
 */
export interface MigrationSet {
  /** Short name, used in the Postgres advisory lock: `keyfleet.<name>.migrate:<schema>`. */
  readonly name: string;
  /** How an error names the database, e.g. "The settings database". */
  readonly label: string;
  /** Table recording applied versions. */
  readonly table: string;
  readonly migrations: readonly Migration[];
}

export function latestVersion(set: MigrationSet): number {
  return set.migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

/**
 * The migrations not applied yet, in order. Versions are reserved per branch (issue numbers in
 * state-migrations.ts), so a database can hold 9 before 6 is written: what is missing is applied,
 * not only what is above the highest. Refuses a database written by a newer keyfleet (a version this
 * one does not know): running old code on it could corrupt it silently.
 */
function pending(set: MigrationSet, applied: readonly number[]): Migration[] {
  const latest = latestVersion(set);
  const known = new Set(set.migrations.map((m) => m.version));
  const unknown = applied.filter((v) => !known.has(v));
  if (unknown.length > 0) {
    const current = Math.max(...applied);
    throw new Error(`${set.label} is at schema version ${current}, newer than this keyfleet knows (${latest}). Upgrade keyfleet.`);
  }
  const done = new Set(applied);
  return set.migrations.filter((m) => !done.has(m.version)).sort((a, b) => a.version - b.version);
}

const versionTable = (set: MigrationSet) =>
  `CREATE TABLE IF NOT EXISTS ${set.table} (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`;

/** Applies pending migrations in one immediate transaction (other processes wait on the write lock). Returns the version. */
export function runSqliteMigrations(db: Database, set: MigrationSet): number {
  db.transaction(() => {
    db.exec(versionTable(set));
    const applied = (db.prepare(`SELECT version FROM ${set.table}`).all() as Array<{ version: number }>).map((r) => r.version);
    const record = db.prepare(`INSERT INTO ${set.table} (version, applied_at) VALUES (?, ?)`);
    for (const m of pending(set, applied)) {
      db.exec(m.sqlite);
      record.run(m.version, new Date().toISOString());
    }
  }).immediate();
  return latestVersion(set);
}

/**
 * Applies pending migrations in one transaction on `schema` (created if missing). An advisory lock
 * per schema serialises instances starting together, so neither fails on the other's half-created tables.
 */
export async function runPostgresMigrations(client: PoolClient, schema: string, set: MigrationSet): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`keyfleet.${set.name}.migrate:${schema}`]);
    // Checked first so an existing schema needs no CREATE privilege on the database.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    await client.query(versionTable(set));
    const res = await client.query<{ version: number }>(`SELECT version FROM ${set.table}`);
    for (const m of pending(set, res.rows.map((r) => Number(r.version)))) {
      await client.query(m.postgres);
      await client.query(`INSERT INTO ${set.table} (version, applied_at) VALUES ($1, $2)`, [m.version, new Date().toISOString()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return latestVersion(set);
}

/** Quotes a Postgres identifier (schema names come from configuration and tests, not from requests). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
