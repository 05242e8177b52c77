import type { Compilable, Kysely, QueryExecutorProvider, RawBuilder, SqlBool, Transaction } from 'kysely';

export type Backend = 'sqlite' | 'postgres';

/**
 * What differs between SQLite and Postgres, implemented once per dialect (sqlite-db.ts,
 * postgres-db.ts). Everything else about a store is written once, against Kysely.
 */
export interface DialectParts {
  readonly backend: Backend;
  /** The Postgres schema the connections work in (search_path); undefined on SQLite. */
  readonly schema?: string;
  /**
   * Serialises writers on `key` inside `trx`: a Postgres advisory lock held to the end of the
   * transaction. SQLite needs nothing more: its transactions are IMMEDIATE and hold the file's lock.
   */
  lock(trx: QueryExecutorProvider, key: string): Promise<void>;
  /** `column IN (values)` with the whole list bound as one parameter (50,000 URLs are one bind). */
  inList(column: string, values: readonly string[]): RawBuilder<SqlBool>;
  /** Runs a script of several statements (a migration) on `trx`. */
  script(trx: QueryExecutorProvider, text: string): Promise<void>;
  tableExists(trx: QueryExecutorProvider, table: string): Promise<boolean>;
  /**
   * SQLite only (Postgres throws): `fn` in one IMMEDIATE transaction, run synchronously on the connection
   * once it is this caller's turn; `run` executes a write and returns the rows it changed, `all` a read.
   * A push's batch of results then costs no promise per statement: through Kysely's transaction, a batch
   * took ~70 µs more and kept a promise per site alive into a young-generation GC (bench/README.md, issue 13).
   */
  txNow<R>(fn: (run: Bound<number>, all: Bound<unknown[]>) => R): Promise<R>;
  /** Closes the connection (SQLite) or ends the pool (Postgres); safe to call twice. */
  close(): Promise<void>;
}

/**
 * One database of keyfleet's, on either backend: the Kysely instance every store queries through,
 * plus the few dialect parts. `tx` is one transaction, rolled back if `fn` throws; on SQLite it is
 * BEGIN IMMEDIATE, so a read-then-write in it never deadlocks with another process's.
 *
 * @example await db.tx(async (trx) => { await db.lock(trx, 'runs'); await trx.updateTable('runs')… });
 */
export interface StoreDb<T> extends DialectParts {
  readonly k: Kysely<T>;
  tx<R>(fn: (trx: Transaction<T>) => Promise<R>): Promise<R>;
}

export function storeDb<T>(k: Kysely<T>, parts: DialectParts): StoreDb<T> {
  return { ...parts, k, tx: (fn) => k.transaction().execute(fn) };
}

const MARK = '\u0000keyfleet-param:';
const same = (v: unknown) => v;

/**
 * A query built and compiled by Kysely once, then run with new values: for statements that run per
 * site (the push's records), where building and compiling the query again each time would cost more
 * than running it. `build` uses `p('name')` wherever a value goes; the result takes the values by name.
 *
 * @example const touch = prepare(db.k, (k, p) => k.updateTable('runs').set({ owner_heartbeat_at: p('at') }).where('id', '=', p('id')));
 *          await db.k.executeQuery(touch({ at, id }));
 */
export function prepare<T, N extends string = string>(
  k: Kysely<T>,
  build: (k: Kysely<T>, p: <V = never>(name: N) => V) => Compilable,
) {
  const p = <V,>(name: N) => `${MARK}${name}` as unknown as V;
  const compiled = build(k, p).compile();
  const { parameters } = compiled;
  const slots = parameters.map((v) => (typeof v === 'string' && v.startsWith(MARK) ? (v.slice(MARK.length) as N) : undefined));
  const bind = (values: Record<N, unknown>, as = same) => slots.map((name, i) => as(name === undefined ? parameters[i] : values[name]));
  // The compiled query with new values: no node tree or query id made per run.
  return Object.assign((values: Record<N, unknown>) => ({ ...compiled, parameters: bind(values) }), { sql: compiled.sql, bind });
}

/** A prepared query: called, the compiled query with `values`; `bind`, its parameters alone, each mapped by `as`. */
export type Prepared<N extends string> = ReturnType<typeof prepare<unknown, N>>;
/** A prepared query run with `values` (txNow). */
export type Bound<Out> = <N extends string>(q: Prepared<N>, values: Record<N, unknown>) => Out;

/** Rows a write touched (Kysely reports a bigint, or nothing for a statement that touched none). */
export function affected(result: { numAffectedRows?: bigint }): number {
  return Number(result.numAffectedRows ?? 0n);
}
