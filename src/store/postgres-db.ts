import pg from 'pg';
import { quoteIdent } from './sql/postgres-db.js';

/** One connection's (or the pool's) way to run SQL: rows back, or how many rows a write touched. */
export interface PgQuery {
  rows<R>(sql: string, params?: unknown[]): Promise<R[]>;
  one<R>(sql: string, params?: unknown[]): Promise<R | undefined>;
  /** The number of rows the statement affected. */
  run(sql: string, params?: unknown[]): Promise<number>;
}

function queryOn(target: pg.Pool | pg.PoolClient): PgQuery {
  return {
    rows: async <R>(sql: string, params: unknown[] = []) => (await target.query(sql, params)).rows as R[],
    one: async <R>(sql: string, params: unknown[] = []) =>
      (await target.query(sql, params)).rows[0] as R | undefined,
    run: async (sql: string, params: unknown[] = []) => (await target.query(sql, params)).rowCount ?? 0,
  };
}

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

/**
 * The connection's startup options with `search_path` set to `schema` (issue 14, point 3): the
 * server applies it before the connection is usable, so no query can run on another schema, and a
 * value it refuses fails the connection. Any `options` of the URL or of PGOPTIONS are kept (the URL's
 * are moved here: pg lets the URL's replace the config's).
 */
export function searchPathOptions(
  connectionString: string,
  schema: string,
  env: NodeJS.ProcessEnv = process.env,
): { connectionString: string; options: string } {
  let url = connectionString;
  let fromUrl: string | null = null;
  try {
    const parsed = new URL(connectionString);
    fromUrl = parsed.searchParams.get('options');
    if (fromUrl !== null) {
      parsed.searchParams.delete('options');
      url = parsed.toString();
    }
  } catch {
    // Not a URL pg would read options from: leave it as given.
  }
  const extra = [fromUrl ?? env.PGOPTIONS ?? ''].filter((o) => o.trim() !== '');
  return { connectionString: url, options: [...extra, `-c search_path=${quoteIdent(schema)}`].join(' ') };
}

/**
 * A pool on one schema of keyfleet's state database: every connection starts with `search_path` set
 * to the schema (in its startup options, so it cannot be skipped), so the SQL of the Postgres stores
 * is unqualified like the SQLite one. `tx` runs a function in one transaction on one connection
 * (rolled back if it throws).
 */
export class PgDb implements PgQuery {
  readonly pool: pg.Pool;
  private readonly q: PgQuery;

  constructor(
    connectionString: string,
    readonly schema: string,
    opts: { poolSize?: number; connectTimeoutMs?: number; log?: (msg: string) => void } = {},
  ) {
    const problem = schemaNameProblem(schema);
    if (problem !== null) throw Object.assign(new Error(problem), { code: 'config_error' });
    this.pool = new pg.Pool({
      ...searchPathOptions(connectionString, schema),
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      application_name: `keyfleet-state:${schema}`.slice(0, 63),
    });
    // An idle pooled connection that dies emits 'error' on the pool; unhandled, it would crash the process.
    this.pool.on('error', (err) => opts.log?.(`idle Postgres connection failed: ${err.message}`));
    this.q = queryOn(this.pool);
  }

  rows<R>(sql: string, params?: unknown[]): Promise<R[]> {
    return this.q.rows<R>(sql, params);
  }

  one<R>(sql: string, params?: unknown[]): Promise<R | undefined> {
    return this.q.one<R>(sql, params);
  }

  run(sql: string, params?: unknown[]): Promise<number> {
    return this.q.run(sql, params);
  }

  async tx<T>(fn: (q: PgQuery) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(queryOn(client));
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Proves the pool's connections work in `schema` (once it exists: after the migrations): refuses to
   * go on, loudly, if the server put them anywhere else.
   */
  async assertSchema(): Promise<void> {
    const row = await this.one<{ schema: string | null }>('SELECT current_schema() AS schema');
    if (row?.schema !== this.schema) {
      throw new Error(
        `Postgres connections use schema ${row?.schema ?? '(none)'} instead of ${this.schema}: ` +
          'check the options of KEYFLEET_DB and PGOPTIONS (search_path must not be overridden).',
      );
    }
  }

  /** A dedicated connection (migrations take their own transaction and advisory lock). */
  connect(): Promise<pg.PoolClient> {
    return this.pool.connect();
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
