import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSettingsStore } from '../../src/store/open-settings-store.js';
import type { OpenSettingsStoreOptions, SettingsStore } from '../../src/store/settings-store.js';
import { POSTGRES_TEST_URL, dropSchema, freshSchemaName, pgQuery } from '../helpers/postgres.js';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

/**
 * One test's database on one backend: a temp SQLite file or a fresh Postgres schema. `open()` can be
 * called again to simulate a restart or a second instance; `cleanup()` closes every store it opened
 * and removes the database.
 */
export interface StoreFixture {
  readonly backend: Backend;
  readonly url: string;
  readonly schema: string | undefined;
  open(opts?: OpenSettingsStoreOptions): Promise<SettingsStore>;
  /** SQL run directly on the database, bypassing the store (tables resolve in the fixture's schema). */
  raw<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<R[]>;
  cleanup(): Promise<void>;
}

export function storeFixture(backend: Backend): StoreFixture {
  const opened: SettingsStore[] = [];
  const open = async (url: string, opts: OpenSettingsStoreOptions) => {
    const store = await openSettingsStore(url, opts);
    opened.push(store);
    return store;
  };
  const closeAll = () => Promise.all(opened.map((s) => s.close().catch(() => undefined)));

  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keyfleet-store-'));
    const file = join(dir, 'nested', 'template.db');
    const url = `sqlite:${file}`;
    return {
      backend,
      url,
      schema: undefined,
      open: (opts = {}) => open(url, opts),
      async raw<R>(sql: string, params: unknown[] = []) {
        const db = new Database(file);
        try {
          const stmt = db.prepare(sql);
          if (stmt.reader) return stmt.all(...params) as R[];
          stmt.run(...params);
          return [];
        } finally {
          db.close();
        }
      },
      async cleanup() {
        await closeAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  const schema = freshSchemaName();
  return {
    backend,
    url: POSTGRES_TEST_URL,
    schema,
    open: (opts = {}) => open(POSTGRES_TEST_URL, { schema, ...opts }),
    raw: (sql, params = []) => pgQuery(sql, params, schema),
    async cleanup() {
      await closeAll();
      await dropSchema(schema);
    },
  };
}

/** Keys a store announced since `recordKeys` resolved (the subscription is live by then). */
export interface KeyRecorder {
  readonly keys: string[];
  /** Resolves once `count` keys in all have arrived; the timeout only turns a hang into a clear failure. */
  waitFor(count: number, timeoutMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}

export async function recordKeys(store: SettingsStore): Promise<KeyRecorder> {
  const keys: string[] = [];
  const waiters = new Set<() => void>();
  const unsubscribe = await store.subscribe((key) => {
    keys.push(key);
    for (const w of [...waiters]) w();
  });
  return {
    keys,
    waitFor(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (keys.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve([...keys]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} notification(s), got ${JSON.stringify(keys)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: unsubscribe,
  };
}
