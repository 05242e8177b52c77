import { resolve } from 'node:path';
import { sql } from './sql/kysely.js';
import { deliver, type SettingsDialect, type SettingsListener } from './sql-settings-store.js';
import type { StoreDb } from './sql/store-db.js';
import type { SettingsTables } from './sql/tables.js';

/**
 * Subscribers per database file. SQLite has no change feed across processes, but two stores opened on
 * one file in this process (an app plus a test, two plugins) still see each other's writes.
 */
const subscribersByFile = new Map<string, Set<SettingsListener>>();

/**
 * The settings store's SQLite parts: timestamps are stored as ISO-8601 UTC text (read as they are),
 * and a committed change is delivered to this process's subscribers of the same file.
 *
 * @example new SqlSettingsStore(db, sqliteSettingsDialect(db, path, log), path)
 */
export function sqliteSettingsDialect(
  db: StoreDb<SettingsTables>,
  path: string,
  log: (msg: string) => void = () => undefined,
): SettingsDialect {
  // An in-memory database is private to its connection: its subscribers are this store's alone.
  const fileKey = path === ':memory:' || path === '' ? null : resolve(path);
  const memory = new Set<SettingsListener>();
  const own = new Set<SettingsListener>();
  const subscribers = () => (fileKey === null ? memory : subscribersByFile.get(fileKey));
  const unsubscribe = (entry: SettingsListener) => {
    own.delete(entry);
    const set = subscribers();
    set?.delete(entry);
    // Dropped when empty so that many short-lived stores (tests, temp files) leave nothing behind.
    if (set?.size === 0 && fileKey !== null) subscribersByFile.delete(fileKey);
  };
  return {
    iso: (column) => sql<string>`${sql.ref(column)}`,
    now: sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
    announce: async () => undefined,
    committed: (keys) => {
      for (const key of keys) deliver(subscribers() ?? [], key, log);
    },
    subscribe: async (entry) => {
      let set = subscribers();
      if (!set) subscribersByFile.set(fileKey as string, (set = new Set()));
      set.add(entry);
      own.add(entry);
      return async () => unsubscribe(entry);
    },
    ping: async () => {
      await sql`SELECT 1`.execute(db.k);
    },
    close: async () => {
      for (const entry of [...own]) unsubscribe(entry);
    },
  };
}
