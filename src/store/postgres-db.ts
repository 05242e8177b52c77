import pg from 'pg';
import { quoteIdent } from './migrations.js';

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
 * A pool on one schema of keyfleet's state database: every connection starts with `search_path` set
 * to the schema, so the SQL of the Postgres stores is unqualified like the SQLite one.
 * `tx` runs a function in one transaction on one connection (rolled back if it throws).
 */
export class PgDb implements PgQuery {
  readonly pool: pg.Pool;
  private readonly q: PgQuery;

  constructor(
    connectionString: string,
    readonly schema: string,
    opts: { poolSize?: number; connectTimeoutMs?: number; log?: (msg: string) => void } = {},
  ) {
    this.pool = new pg.Pool({
      connectionString,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      application_name: `keyfleet-state:${schema}`.slice(0, 63),
    });
    this.pool.on(
      'connect',
      (client) => void client.query(`SET search_path TO ${quoteIdent(schema)}`).catch(() => undefined),
    );
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

  /** A dedicated connection (migrations take their own transaction and advisory lock). */
  connect(): Promise<pg.PoolClient> {
    return this.pool.connect();
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
