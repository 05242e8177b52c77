// TRANSITIONAL (issue 13 rewrite in progress): the old fleet store on a handle of its own, until
// sql-fleet-store.ts lands; then `legacyFleet(...)` in sql-state-store.ts becomes
// `new SqlFleetStore(db, vault)` and this file, sqlite-/postgres-fleet-store.ts, their ledgers and
// postgres-db.ts go.
import Database from 'better-sqlite3';
import type { FleetStore } from './fleet-store.js';
import { SqliteFleetStore } from './sqlite-fleet-store.js';
import type { StoreDb } from './sql/store-db.js';
import type { StateTables } from './sql/tables.js';
import type { VaultKeyProvider } from './vault.js';

const closers = new WeakMap<FleetStore, () => Promise<void>>();

/**
 * The old fleet store for `db`'s database, opened on first use (a Postgres one loads pg lazily):
 * SQLite → a second connection on the same file; Postgres → a PgDb on the same URL and schema.
 * `at` is the SQLite path or the Postgres URL.
 */
export function legacyFleet(db: StoreDb<StateTables>, vault: VaultKeyProvider, at: string): FleetStore {
  let opened: Promise<{ fleet: FleetStore; close(): Promise<void> }> | undefined;
  const open = async () => {
    if (db.backend === 'postgres') {
      const { PgDb } = await import('./postgres-db.js');
      const { PostgresFleetStore } = await import('./postgres-fleet-store.js');
      const pgDb = new PgDb(at, db.schema ?? 'public');
      return { fleet: new PostgresFleetStore(pgDb, vault), close: () => pgDb.end().catch(() => undefined) };
    }
    if (at === ':memory:' || at === '') throw new Error('The fleet registry needs a state database file, not :memory: (until issue 13 lands).');
    const raw = new Database(at, { timeout: 5000 });
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
    const stmts = new Map<string, Database.Statement>();
    const stmt = (text: string) => {
      let s = stmts.get(text);
      if (!s) stmts.set(text, (s = raw.prepare(text)));
      return s;
    };
    return { fleet: new SqliteFleetStore(raw, vault, stmt), close: async () => void (raw.open && raw.close()) };
  };
  const fleet = new Proxy({} as FleetStore, {
    // Not `then` (the proxy is not a promise) nor symbols (inspection): only the store's methods.
    get: (_, name) =>
      typeof name !== 'string' || name === 'then' ? undefined : async (...args: unknown[]) => {
        const { fleet: f } = await (opened ??= open());
        const call = () => (f[name as keyof FleetStore] as (...a: unknown[]) => Promise<unknown>).apply(f, args);
        // SQLite: holding Kysely's one connection meanwhile, so no transaction of the store's holds the
        // file's write lock across an await while the second connection blocks the thread waiting for it.
        return db.backend === 'sqlite' ? db.k.connection().execute(call) : call();
      },
  });
  closers.set(fleet, async () => {
    if (opened) await (await opened.catch(() => undefined))?.close();
  });
  return fleet;
}

/** Closes the handle `legacyFleet` opened, if any. */
export async function closeLegacyFleet(fleet: FleetStore): Promise<void> {
  await closers.get(fleet)?.();
}
