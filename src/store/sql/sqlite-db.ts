import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver, sql } from './kysely.js';
import type { DatabaseConnection, Driver, SqliteDatabase, SqliteDialectConfig, SqliteStatement, TransactionSettings } from 'kysely';
import { ensurePrivateFile } from '../private-file.js';
import { storeDb, type Bound, type StoreDb } from './store-db.js';

export interface SqliteOpenOptions {
  /** How long a write waits for another process's write lock before failing (SQLITE_BUSY). */
  busyTimeoutMs?: number;
  /** `synchronous = NORMAL` (state: a commit is in the OS once written; only a power cut drops the last ones). */
  relaxedSync?: boolean;
  foreignKeys?: boolean;
}

/** SQLite binds numbers, strings, bigints, buffers and null: a boolean is bound as 1 or 0. */
const int = (v: unknown) => (typeof v === 'boolean' ? Number(v) : v);
const bindable = (params: readonly unknown[]) => (params.some((v) => typeof v === 'boolean') ? params.map(int) : (params as unknown[]));

/**
 * better-sqlite3 seen through Kysely's SqliteDatabase interface, with each statement prepared once
 * and kept: Kysely prepares on every execution, and a push runs the same few statements per site.
 */
function cachingDatabase(raw: Database.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      if (raw.open) raw.close();
    },
    prepare(text: string): SqliteStatement {
      let stmt = cache.get(text);
      if (stmt) return stmt;
      if (!raw.open) throw new Error('The database is closed.');
      const s = raw.prepare(text);
      stmt = {
        reader: s.reader,
        all: (params) => s.all(bindable(params)),
        run: (params) => s.run(bindable(params)),
        iterate: (params) => s.iterate(bindable(params)),
      };
      // Statements are a bounded set (lists are bound as one JSON parameter); the cap is a safety net.
      if (cache.size > 500) cache.clear();
      cache.set(text, stmt);
      return stmt;
    },
  };
}

/**
 * Turns on one file for this process's connections to it. better-sqlite3 blocks the one thread while
 * it waits for a lock, so a second connection's write waiting on a first one's open transaction
 * (two stores on one file in one process) could never be let through: it failed with SQLITE_BUSY.
 */
class FileTurn {
  private last: Promise<void> = Promise.resolve();
  users = 0;

  async take(): Promise<() => void> {
    let release!: () => void;
    const before = this.last;
    this.last = new Promise((r) => (release = r));
    await before;
    return release;
  }
}

const turns = new Map<string, FileTurn>();

/**
 * Kysely's SQLite driver, but every transaction is BEGIN IMMEDIATE (it takes the write lock first),
 * and the connection is taken in turn with this process's other connections to the same file. A
 * read-only one (`setAccessMode('read only')`: one snapshot for a page and its count) stays
 * deferred, so it never waits for a writer nor holds one up.
 */
class ImmediateDriver extends SqliteDriver {
  private release: (() => void) | null = null;

  constructor(config: SqliteDialectConfig, private readonly turn: FileTurn) {
    super(config);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.turn.take();
    try {
      const connection = await super.acquireConnection();
      this.release = release;
      return connection;
    } catch (err) {
      release();
      throw err;
    }
  }

  override async releaseConnection(): Promise<void> {
    await super.releaseConnection();
    const release = this.release;
    this.release = null;
    release?.();
  }

  override async beginTransaction(connection: DatabaseConnection, settings?: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(settings?.accessMode === 'read only' ? 'begin' : 'begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly config: SqliteDialectConfig, private readonly turn: FileTurn) {
    super(config);
  }

  override createDriver(): Driver {
    return new ImmediateDriver(this.config, this.turn);
  }
}

/**
 * Opens a SQLite file (created 0600, in a 0700 directory, WAL) or `:memory:` for one of keyfleet's
 * stores. better-sqlite3 is synchronous; Kysely runs it behind its one-connection mutex.
 *
 * @example const db = openSqlite<StateTables>(path, { relaxedSync: true, foreignKeys: true });
 */
export function openSqlite<T>(path: string, opts: SqliteOpenOptions = {}): StoreDb<T> {
  const inMemory = path === ':memory:' || path === '';
  ensurePrivateFile(path);
  // `timeout` is better-sqlite3's name for SQLite's busy_timeout.
  const raw = new Database(path, { timeout: opts.busyTimeoutMs ?? 5000 });
  try {
    if (!inMemory) raw.pragma('journal_mode = WAL');
    if (opts.relaxedSync) raw.pragma('synchronous = NORMAL');
    if (opts.foreignKeys) raw.pragma('foreign_keys = ON');
  } catch (err) {
    raw.close(); // the caller gets no store to close, so release the file handle here
    throw err;
  }
  // An in-memory database is private to its connection: it takes turns with nobody.
  const file = inMemory ? null : resolve(path);
  const turn = (file !== null && turns.get(file)) || new FileTurn();
  if (file !== null) turns.set(file, turn);
  turn.users += 1;
  const database = cachingDatabase(raw);
  // txNow's statements, made once (not per batch); one array of parameters per statement run.
  const run: Bound<number> = (q, v) => Number(database.prepare(q.sql).run(q.bind(v, int)).changes);
  const all: Bound<unknown[]> = (q, v) => database.prepare(q.sql).all(q.bind(v, int));
  const k = new Kysely<T>({ dialect: new ImmediateSqliteDialect({ database }, turn) });
  return storeDb<T>(k, {
    backend: 'sqlite',
    lock: async () => undefined,
    inList: (column, values) => sql<boolean>`${sql.ref(column)} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`,
    // Inside a Kysely transaction the one connection is held: exec runs in it.
    script: async (_trx, text) => {
      raw.exec(text);
    },
    // The connection is held (Kysely's mutex and this file's turn) while better-sqlite3 runs the transaction.
    txNow: (fn) => k.getExecutor().provideConnection(async () => raw.transaction(() => fn(run, all)).immediate()),
    tableExists: async (trx, table) => {
      const { rows } = await sql`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ${table}`.execute(trx);
      return rows.length > 0;
    },
    close: async () => {
      if (!raw.open) return;
      await k.destroy();
      // Dropped with its last connection, so many short-lived files (tests) leave nothing behind.
      if (--turn.users === 0 && file !== null) turns.delete(file);
    },
  });
}
