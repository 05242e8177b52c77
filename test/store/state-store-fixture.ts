import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStateStore, type OpenStateStoreOptions } from '../../src/store/open-state-store.js';
import type { NewRun, SiteResult, SiteStatus, StateStore } from '../../src/store/state-store.js';

/** Backends these SQLite-file suites run against (both backends: state-store-contract-on-every-backend.test.ts). */
export type StateBackend = 'sqlite';
export const STATE_BACKENDS: readonly StateBackend[] = ['sqlite'];

export const newVaultKey = () => randomBytes(32).toString('base64');

/**
 * One test's state database: a temp directory holding `keyfleet.db` (and `vault.key` when the test
 * lets the store create one). `open()` again simulates a restart; `cleanup()` closes and deletes.
 */
export interface StateFixture {
  readonly dir: string;
  readonly path: string;
  readonly vaultKey: string;
  /** Warnings the stores opened here logged. */
  readonly logs: string[];
  open(opts?: OpenStateStoreOptions): Promise<StateStore>;
  /** Direct SQL on the file, bypassing the store. */
  raw<R = Record<string, unknown>>(sql: string, params?: unknown[]): R[];
  /** The database's bytes, WAL included, so nothing written escapes a grep. */
  bytes(): Buffer;
  cleanup(): Promise<void>;
}

export function stateFixture(_backend: StateBackend = 'sqlite'): StateFixture {
  const dir = mkdtempSync(join(tmpdir(), 'keyfleet-state-'));
  const path = join(dir, 'keyfleet.db');
  const vaultKey = newVaultKey();
  const logs: string[] = [];
  const opened: StateStore[] = [];
  return {
    dir,
    path,
    vaultKey,
    logs,
    async open(opts = {}) {
      const store = await openStateStore({ path, vaultKey, log: (m) => logs.push(m), env: {}, ...opts });
      opened.push(store);
      return store;
    },
    raw<R>(sql: string, params: unknown[] = []) {
      const db = new Database(path);
      try {
        const stmt = db.prepare(sql);
        if (stmt.reader) return stmt.all(...params) as R[];
        stmt.run(...params);
        return [];
      } finally {
        db.close();
      }
    },
    bytes() {
      const files = readdirSync(dir).filter((f) => f.startsWith('keyfleet.db'));
      return Buffer.concat(files.map((f) => readFileSync(join(dir, f))));
    },
    async cleanup() {
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const siteUrl = (i: number) => `https://site${i}.example.test`;

export function newRun(sites: string[], extra: Partial<NewRun> = {}): NewRun {
  return {
    command: 'push',
    dry_run: false,
    actor: 'tester',
    sites_source: 'sites.txt',
    keys: {},
    options: {},
    key_version_id: null,
    sites,
    ...extra,
  };
}

export function siteResult(url: string, status: SiteStatus, extra: Partial<SiteResult> = {}): SiteResult {
  return {
    url,
    status,
    verified: status === 'ok',
    attempts: 1,
    duration_ms: 12,
    error: null,
    before: null,
    ...extra,
  };
}
