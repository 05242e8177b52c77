import { CompiledQuery } from './kysely.js';
import type { Compilable, Kysely, RawBuilder, SqlBool, Transaction } from 'kysely';

export type Backend = 'sqlite' | 'postgres';

/**
 * What differs between SQLite and Postgres, implemented once per dialect (sqlite-db.ts,
 * postgres-db.ts). Everything else about a store is written once, against Kysely.
 */
export interface DialectParts {
  readonly backend: Backend;
  /**
   * Serialises writers on `key` inside `trx`: a Postgres advisory lock held to the end of the
   * transaction. SQLite needs nothing more: its transactions are IMMEDIATE and hold the file's lock.
   */
  lock(trx: Kysely<never>, key: string): Promise<void>;
  /** `column IN (values)` with the whole list bound as one parameter (50,000 URLs are one bind). */
  inList(column: string, values: readonly string[]): RawBuilder<SqlBool>;
  /** Runs a script of several statements (a migration) on `trx`. */
  script(trx: Kysely<never>, text: string): Promise<void>;
  tableExists(trx: Kysely<never>, table: string): Promise<boolean>;
  /**
   * SQLite only: runs a write at once on the connection, with no promise, and returns the rows it
   * changed. Only inside a transaction (which holds the connection): a batch of per-site writes then
   * makes no garbage per site that outlives a young-generation GC (bench/README.md, issue 13).
   */
  runNow?(query: CompiledQuery): number;
  /** The Postgres schema the connections work in (search_path); undefined on SQLite. */
  readonly schema?: string;
  close(): Promise<void>;
}

/**
 * One database of keyfleet's, on either backend: the Kysely instance every store queries through,
 * plus the few dialect parts. `tx` is one transaction, rolled back if `fn` throws; on SQLite it is
 * BEGIN IMMEDIATE, so a read-then-write in it never deadlocks with another process's.
 *
 * @example await db.tx(async (trx) => { await db.lock(trx, 'runs'); await trx.updateTable('runs')… });
 */
export class StoreDb<T> {
  constructor(
    readonly k: Kysely<T>,
    private readonly parts: DialectParts,
  ) {}

  get backend(): Backend {
    return this.parts.backend;
  }

  get schema(): string | undefined {
    return this.parts.schema;
  }

  tx<R>(fn: (trx: Transaction<T>) => Promise<R>): Promise<R> {
    return this.k.transaction().execute(fn);
  }

  lock(trx: Kysely<T>, key: string): Promise<void> {
    return this.parts.lock(trx as unknown as Kysely<never>, key);
  }

  inList(column: string, values: readonly string[]): RawBuilder<SqlBool> {
    return this.parts.inList(column, values);
  }

  script(trx: Kysely<T>, text: string): Promise<void> {
    return this.parts.script(trx as unknown as Kysely<never>, text);
  }

  tableExists(trx: Kysely<T>, table: string): Promise<boolean> {
    return this.parts.tableExists(trx as unknown as Kysely<never>, table);
  }

  /** See DialectParts.runNow; throws on Postgres. */
  runNow(query: CompiledQuery): number {
    if (!this.parts.runNow) throw new Error(`runNow is SQLite's; ${this.backend} runs queries through Kysely.`);
    return this.parts.runNow(query);
  }

  /** Closes the connection (SQLite) or ends the pool (Postgres); safe to call twice. */
  close(): Promise<void> {
    return this.parts.close();
  }
}

const MARK = '\u0000keyfleet-param:';

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
): (values: Record<N, unknown>) => CompiledQuery {
  const p = <V,>(name: N) => `${MARK}${name}` as unknown as V;
  const compiled = build(k, p).compile();
  const slots = compiled.parameters.map((v) =>
    typeof v === 'string' && v.startsWith(MARK) ? (v.slice(MARK.length) as N) : undefined,
  );
  return (values) =>
    CompiledQuery.raw(
      compiled.sql,
      slots.map((name, i) => (name === undefined ? compiled.parameters[i] : values[name])),
    );
}

/** Rows a write touched (Kysely reports a bigint, or nothing for a statement that touched none). */
export function affected(result: { numAffectedRows?: bigint; numUpdatedOrDeletedRows?: bigint }): number {
  return Number(result.numAffectedRows ?? result.numUpdatedOrDeletedRows ?? 0n);
}

