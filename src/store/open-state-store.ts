import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { SecretBox } from '../keys/secret-box.js';
import { maskDatabaseUrl, parseDatabaseUrl } from './open-settings-store.js';
import { migrate } from './sql/migrate.js';
import { openSqlite } from './sql/sqlite-db.js';
import type { StoreDb } from './sql/store-db.js';
import type { StateTables } from './sql/tables.js';
import { SqlStateStore } from './sql-state-store.js';
import { STATE_MIGRATION_SET } from './state-migrations.js';
import type { StateStore } from './state-store.js';
import type { VaultKeyProvider } from './key-vault.js';

export interface OpenStateStoreOptions {
  /** Database file; else env KEYFLEET_DB, else `$XDG_DATA_HOME/keyfleet/keyfleet.db`. */
  path?: string;
  /** Base64 of 32 bytes; else env KEYFLEET_VAULT_KEY, else the `vault.key` file next to the database. */
  vaultKey?: string;
  /** Receives warnings for the operator (a new vault key file); never console.log. */
  log?: (msg: string) => void;
  /** The environment to read (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** Resolve the vault key now (creating the key file on a first start) instead of on first use. */
  eagerVaultKey?: boolean;
  /** Postgres only: the schema holding keyfleet's tables; else env KEYFLEET_DB_SCHEMA, else `public`. */
  schema?: string;
}

/** A configuration the operator must fix (exit 2 through main.ts's `config_error` mapping). */
export class StateConfigError extends Error {
  readonly code = 'config_error';
}

/**
 * Where keyfleet keeps its state. KEYFLEET_DB takes a path or `sqlite:`/`file:` URL; `postgres://`
 * names a Postgres database, which `openStateStore` opens (see `postgresStateUrl`).
 *
 * @example stateDbPath({}, { XDG_DATA_HOME: '/srv/data' }) // '/srv/data/keyfleet/keyfleet.db'
 */
export function stateDbPath(opts: Pick<OpenStateStoreOptions, 'path'> = {}, env = process.env): string {
  if (opts.path) return opts.path;
  const fromEnv = env.KEYFLEET_DB?.trim();
  if (fromEnv) {
    if (!/^(postgres(ql)?|sqlite|file):/i.test(fromEnv)) return fromEnv;
    const target = parseDatabaseUrl(fromEnv);
    if (target.backend === 'sqlite') return target.path;
    throw new StateConfigError(
      `KEYFLEET_DB=${maskDatabaseUrl(fromEnv)} is a Postgres database: a file path is not supported for it ` +
        '(openStateStore opens it; see postgresStateUrl).',
    );
  }
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'share');
  return join(base, 'keyfleet', 'keyfleet.db');
}

/** KEYFLEET_DB when it names a Postgres database (`postgres://…`), else undefined (SQLite). */
export function postgresStateUrl(opts: Pick<OpenStateStoreOptions, 'path'> = {}, env = process.env): string | undefined {
  if (opts.path) return undefined;
  const fromEnv = env.KEYFLEET_DB?.trim();
  return fromEnv && /^postgres(ql)?:\/\//i.test(fromEnv) ? fromEnv : undefined;
}

/**
 * The environment as the dashboard reads its state database from it: KEYFLEET_DB, else DATABASE_URL
 * when it is a URL keyfleet opens (`postgres://…`, or `sqlite:`/`file:`, honoured so that two dashboards
 * given two files never share one state), else the default file; any other DATABASE_URL is refused
 * with the variable to use. `keyfleet sites` opens the dashboard's registry with the same rule.
 *
 * @example openStateStore({ env: dashboardStateEnv(process.env) })
 */
export function dashboardStateEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const url = env.DATABASE_URL?.trim() ?? '';
  if (env.KEYFLEET_DB?.trim() || url === '') return env;
  if (/^(postgres(ql)?:\/\/|sqlite:|file:)/i.test(url)) return { ...env, KEYFLEET_DB: url };
  throw new StateConfigError(
    `DATABASE_URL=${maskDatabaseUrl(url)} is not a database URL keyfleet opens for its state: use ` +
      'postgres://…, sqlite:<path> or file:<path>, or set KEYFLEET_DB=<path> (which wins over DATABASE_URL).',
  );
}

/** The vault key file used when no key is configured: next to the database, so both are backed up together. */
export function vaultKeyPath(dbPath: string): string {
  return join(dirname(resolve(dbPath)), 'vault.key');
}

function boxFrom(encoded: string, source: string): SecretBox {
  try {
    return SecretBox.fromBase64(encoded, source);
  } catch (err) {
    throw new StateConfigError((err as Error).message);
  }
}

/**
 * Reads the key file, or creates it (0600, exclusively: two first runs at once must not each write
 * a different key) and warns where it is, since losing it loses every sealed secret.
 */
function keyFromFile(file: string, log: (msg: string) => void): SecretBox {
  try {
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    log(
      `created a new vault key at ${file} (mode 0600). Back it up: without it, the secrets keyfleet saved ` +
        'cannot be decrypted (rollback of secrets). Or set KEYFLEET_VAULT_KEY instead.',
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (statSync(file).mode & 0o077) log(`the vault key ${file} is readable by other users: chmod 600 ${file}`);
  }
  return boxFrom(readFileSync(file, 'utf8'), `the vault key file ${file}`);
}

/** Resolved on first use and remembered, so `history` neither needs a key nor creates a key file. */
export function vaultKeyProvider(dbPath: string, opts: OpenStateStoreOptions = {}): VaultKeyProvider {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const given = opts.vaultKey ?? (env.KEYFLEET_VAULT_KEY?.trim() || undefined);
  const source = opts.vaultKey !== undefined ? 'the vaultKey option' : given ? 'KEYFLEET_VAULT_KEY' : vaultKeyPath(dbPath);
  let box: SecretBox | undefined;
  return {
    source,
    box() {
      if (box) return box;
      if (given !== undefined) return (box = boxFrom(given, source));
      if (dbPath === ':memory:') throw new StateConfigError('An in-memory state store needs a vault key.');
      return (box = keyFromFile(source, log));
    },
  };
}

/**
 * Opens and migrates keyfleet's state store: SQLite by default, Postgres when KEYFLEET_DB is a
 * `postgres://` URL. Errors name the database that failed.
 *
 * @example const store = await openStateStore({ log: (m) => process.stderr.write(`keyfleet: ${m}\n`) });
 */
export async function openStateStore(opts: OpenStateStoreOptions = {}): Promise<StateStore> {
  const env = opts.env ?? process.env;
  const pgUrl = postgresStateUrl(opts, env);
  const pgDb = pgUrl === undefined ? undefined : await openPostgresState(pgUrl, opts, env);
  const path = pgDb ? ':postgres:' : stateDbPath(opts, env);
  const vault = vaultKeyProvider(path, opts);
  let db: StoreDb<StateTables> | undefined;
  try {
    db = pgDb ?? openSqlite<StateTables>(path, { relaxedSync: true, foreignKeys: true });
    await migrate(db, STATE_MIGRATION_SET);
    if (opts.eagerVaultKey) vault.box();
    return new SqlStateStore(db, vault);
  } catch (err) {
    await db?.close().catch(() => undefined);
    const e = err as Error & { code?: unknown };
    // SQLite keeps its driver's codes (SQLITE_CANTOPEN…); on Postgres only a configuration error keeps its code.
    const keep = typeof e.code === 'string' && (pgUrl === undefined || e.code === 'config_error');
    const name = pgUrl === undefined ? path : maskDatabaseUrl(pgUrl);
    throw Object.assign(new Error(`Could not open keyfleet's state database ${name}: ${e.message}`, { cause: err }), {
      code: keep ? e.code : 'database_unavailable',
    });
  }
}

/**
 * Postgres: the vault key must come from KEYFLEET_VAULT_KEY (or the option), never from a file on
 * one machine — every dashboard sharing the database needs the same key.
 */
async function openPostgresState(url: string, opts: OpenStateStoreOptions, env: NodeJS.ProcessEnv) {
  if (opts.vaultKey === undefined && !env.KEYFLEET_VAULT_KEY?.trim()) {
    throw new StateConfigError(
      'KEYFLEET_DB is a Postgres database: set KEYFLEET_VAULT_KEY (32 bytes, base64: openssl rand -base64 32), ' +
        'the same on every dashboard sharing it.',
    );
  }
  const schema = opts.schema ?? (env.KEYFLEET_DB_SCHEMA?.trim() || 'public');
  // pg is loaded only for a Postgres state database: a CLI push on SQLite never pays its start-up.
  const { openPostgres, schemaNameProblem } = await import('./sql/postgres-db.js');
  const problem = schemaNameProblem(schema);
  if (problem !== null) throw new StateConfigError(problem);
  return openPostgres<StateTables>(url, schema, { appName: `keyfleet-state:${schema}`, log: opts.log }).db;
}
