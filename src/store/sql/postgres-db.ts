import pg from 'pg';
import { Kysely, PostgresDialect, PostgresIntrospector, sql } from './kysely.js';
import type { DatabaseIntrospector, PostgresDialectConfig, TableMetadata } from 'kysely';
import { storeDb, type StoreDb } from './store-db.js';

/**
 * The schema names keyfleet accepts (KEYFLEET_DB_SCHEMA): a plain identifier, at most 63 bytes (what
 * Postgres keeps), not `pg_…` (reserved). Letters keep their case (the name is always quoted).
 */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Why `name` is not a schema keyfleet accepts, with what to do; null when it is fine. */
export function schemaNameProblem(name: string): string | null {
  if (SCHEMA_NAME.test(name) && !/^pg_/i.test(name)) return null;
  return (
    `"${name.slice(0, 80)}" is not a usable Postgres schema name: use 1–63 letters, digits and ` +
    'underscores, not starting with a digit or "pg_" (set KEYFLEET_DB_SCHEMA to such a name).'
  );
}

/** Quotes a Postgres identifier (schema names come from configuration and tests, not from requests). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The connection's startup options with `search_path` set to `schema` (issue 14, point 3): the
 * server applies it before the connection is usable, so no query can run on another schema, and a
 * value it refuses fails the connection. Any `options` of the URL or of PGOPTIONS are kept (the URL's
 * are moved here: pg lets the URL's replace the config's).
 */
export function searchPathOptions(connectionString: string, schema: string, env: NodeJS.ProcessEnv = process.env) {
  // A string that is not a URL has no options pg would read from it: it is left as given.
  const parsed = URL.canParse(connectionString) ? new URL(connectionString) : null;
  const fromUrl = parsed?.searchParams.get('options') ?? null;
  parsed?.searchParams.delete('options');
  const url = fromUrl === null ? connectionString : String(parsed);
  const options = [fromUrl ?? env.PGOPTIONS ?? '', `-c search_path=${quoteIdent(schema)}`].filter((o) => o.trim() !== '');
  return { connectionString: url, options: options.join(' ') };
}

export interface PostgresOpenOptions {
  poolSize?: number;
  connectTimeoutMs?: number;
  /** application_name of the pool's sessions. */
  appName: string;
  /** Receives problems no caller can be told of (an idle pooled connection dying). */
  log?: (msg: string) => void;
}

/**
 * Kysely's migrator finds its tables through the introspector, whose Postgres one scans every schema
 * of the database (has_schema_privilege on each): that fails when another schema is dropped
 * meanwhile, as a shared database's other tenants (and parallel tests) do. Only ours matters.
 */
class OneSchemaIntrospector extends PostgresIntrospector {
  constructor(private readonly k: Kysely<unknown>, private readonly schema: string) {
    super(k);
  }

  override async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = ${this.schema}`.execute(this.k);
    return rows.map((r) => ({ name: r.name, schema: this.schema, isView: false, columns: [] }));
  }
}

class OneSchemaDialect extends PostgresDialect {
  constructor(config: PostgresDialectConfig, private readonly schema: string) {
    super(config);
  }

  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new OneSchemaIntrospector(db, this.schema);
  }
}

/** A Postgres database of keyfleet's: the Kysely store plus what LISTEN and the migrator need. */
export interface PostgresStoreDb<T> {
  db: StoreDb<T>;
  pool: pg.Pool;
  /** How to open one more session on the same schema (a LISTEN connection cannot live in the pool). */
  clientConfig: pg.ClientConfig;
}

/**
 * A pool on one schema: every connection starts with `search_path` set to it (in its startup
 * options, so it cannot be skipped), so the stores' SQL is unqualified, as on SQLite.
 *
 * @example const { db } = openPostgres<StateTables>(url, 'keyfleet', { appName: 'keyfleet-state:keyfleet' });
 */
export function openPostgres<T>(url: string, schema: string, opts: PostgresOpenOptions): PostgresStoreDb<T> {
  const problem = schemaNameProblem(schema);
  if (problem !== null) throw Object.assign(new Error(problem), { code: 'config_error' });
  const clientConfig: pg.ClientConfig = {
    ...searchPathOptions(url, schema),
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    application_name: opts.appName.slice(0, 63),
  };
  const pool = new pg.Pool({ ...clientConfig, max: opts.poolSize ?? 10 });
  // An idle pooled connection that dies emits 'error' on the pool; unhandled, it would crash the process.
  pool.on('error', (err) => opts.log?.(`idle Postgres connection failed: ${err.message}`));
  const k = new Kysely<T>({ dialect: new OneSchemaDialect({ pool }, schema) });
  let closed: Promise<void> | undefined;
  const db = storeDb<T>(k, {
    backend: 'postgres',
    schema,
    lock: async (trx, key) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${key}))`.execute(trx);
    },
    inList: (column, values) => sql<boolean>`${sql.ref(column)} = ANY(${[...values]}::text[])`,
    // No parameters: pg sends it as a simple query, which may hold several statements.
    script: async (trx, text) => {
      await sql.raw(text).execute(trx);
    },
    txNow: () => {
      throw new Error("txNow is SQLite's: on Postgres, run queries through Kysely.");
    },
    tableExists: async (trx, table) => {
      const { rows } = await sql<{ t: string | null }>`SELECT to_regclass(${quoteIdent(table)})::text AS t`.execute(trx);
      return rows[0]?.t != null;
    },
    close: () => (closed ??= k.destroy().catch(() => undefined)),
  });
  return { db, pool, clientConfig };
}

/**
 * Creates the schema if it is missing (checked first, so an existing schema needs no CREATE
 * privilege on the database), under an advisory lock so instances starting together do not race.
 */
export async function ensureSchema(db: StoreDb<unknown>): Promise<void> {
  const schema = db.schema as string;
  await db.tx(async (trx) => {
    await db.lock(trx, `keyfleet.schema:${schema}`);
    const { rows } = await sql`SELECT 1 FROM pg_namespace WHERE nspname = ${schema}`.execute(trx);
    if (rows.length === 0) await sql.raw(`CREATE SCHEMA ${quoteIdent(schema)}`).execute(trx);
  });
}

/**
 * Proves the pool's connections work in the schema (once it exists): refuses to go on, loudly, if
 * the server put them anywhere else.
 */
export async function assertSchema(db: StoreDb<unknown>): Promise<void> {
  const { rows } = await sql<{ schema: string | null }>`SELECT current_schema() AS schema`.execute(db.k);
  const found = rows[0]?.schema;
  if (found !== db.schema) {
    throw new Error(
      `Postgres connections use schema ${found ?? '(none)'} instead of ${db.schema}: ` +
        'check the options of KEYFLEET_DB and PGOPTIONS (search_path must not be overridden).',
    );
  }
}
