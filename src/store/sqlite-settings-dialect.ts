import { resolve } from 'node:path';
import { sql } from './sql/kysely.js';
import type { SettingsDialect, SettingsListener } from './sql-settings-store.js';

/**
 * The listening stores per database file. SQLite has no change feed across processes, but two stores
 * opened on one file in this process (an app plus a test, two plugins) still see each other's writes.
 */
const feedsByFile = new Map<string, Set<SettingsListener>>();

/**
 * The settings store's SQLite parts: timestamps are stored as ISO-8601 UTC text (read as they are),
 * and a committed change is passed to this process's stores listening on the same file.
 *
 * @example new SqlSettingsStore(db, sqliteSettingsDialect(path), log, path)
 */
export function sqliteSettingsDialect(path: string): SettingsDialect {
  const fileKey = path === ':memory:' || path === '' ? null : resolve(path);
  // An in-memory database is private to its connection: only this store hears of its changes.
  const memory = new Set<SettingsListener>();
  const feeds = () => (fileKey === null ? memory : feedsByFile.get(fileKey));
  return {
    iso: (column) => sql<string>`${sql.ref(column)}`,
    now: sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
    committed: (keys) => keys.forEach((key) => [...(feeds() ?? [])].forEach((emit) => emit(key))),
    listen: async (emit) => {
      const set = feeds() ?? new Set<SettingsListener>();
      if (fileKey !== null) feedsByFile.set(fileKey, set);
      set.add(emit);
      return async () => {
        set.delete(emit);
        // Dropped when empty so that many short-lived stores (tests, temp files) leave nothing behind.
        if (set.size === 0 && fileKey !== null) feedsByFile.delete(fileKey);
      };
    },
  };
}
