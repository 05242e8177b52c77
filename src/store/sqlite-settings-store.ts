import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { auditLimit } from './audit-limit.js';
import { migrateSqlite } from './settings-migrations.js';
import type { AtomicCommit, AtomicEntry, AuditEntry, AuditRow, SettingRow, SettingsSnapshotRows, SettingsStore } from './settings-store.js';

export interface SqliteSettingsStoreOptions {
  /** How long a write waits for another process's write lock before failing (SQLITE_BUSY). */
  busyTimeoutMs?: number;
  /** Receives problems that have no caller to throw to (a failing subscriber). */
  log?: (msg: string) => void;
}

type Listener = (key: string) => void;

/**
 * Subscribers per database file. SQLite has no change feed across processes, but two stores opened on
 * one file in this process (an app plus a test, two plugins) still see each other's writes.
 */
const subscribersByFile = new Map<string, Set<Listener>>();

/**
 * The template site's store on a local SQLite file (the default backend). better-sqlite3 is
 * synchronous; the async methods only satisfy the shared interface. WAL lets readers (health checks,
 * other processes) proceed while a write is in progress.
 *
 * @example const store = new SqliteSettingsStore('./data/template.db'); await store.migrate();
 */
export class SqliteSettingsStore implements SettingsStore {
  readonly backend = 'sqlite' as const;
  private readonly db: Database.Database;
  /** Resolved path for a file; null for an in-memory database, which is private to its connection. */
  private readonly fileKey: string | null;
  private readonly memorySubscribers = new Set<Listener>();
  private readonly own = new Set<Listener>();
  private readonly statements = new Map<string, Database.Statement>();
  private readonly log: (msg: string) => void;

  constructor(
    readonly path: string,
    options: SqliteSettingsStoreOptions = {},
  ) {
    this.log = options.log ?? (() => undefined);
    const inMemory = path === ':memory:' || path === '';
    if (!inMemory) {
      mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
      // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's mode.
      try {
        closeSync(openSync(path, 'wx', 0o600));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    // `timeout` is better-sqlite3's name for SQLite's busy_timeout.
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      if (!inMemory) this.db.pragma('journal_mode = WAL');
    } catch (err) {
      this.db.close(); // the caller gets no store to close, so release the file handle here
      throw err;
    }
    this.fileKey = inMemory ? null : resolve(path);
  }

  async migrate(): Promise<void> {
    this.assertOpen();
    migrateSqlite(this.db);
  }

  async get(key: string): Promise<SettingRow | undefined> {
    return this.stmt('SELECT key, value, updated_at FROM admin_settings WHERE key = ?').get(key) as
      SettingRow | undefined;
  }

  async getAll(): Promise<SettingRow[]> {
    return this.stmt('SELECT key, value, updated_at FROM admin_settings ORDER BY key').all() as SettingRow[];
  }

  async put(key: string, value: string, audit: AuditEntry): Promise<SettingRow> {
    const at = new Date().toISOString();
    const upsert = this.upsertStmt();
    const record = this.auditStmt();
    // IMMEDIATE takes the write lock up front: a deferred transaction that upgrades later can fail
    // with SQLITE_BUSY without waiting for busy_timeout.
    this.db
      .transaction(() => {
        this.bump();
        upsert.run(key, value, at);
        record.run(key, audit.fingerprint, audit.actorIp, at);
      })
      .immediate();
    this.notify(key);
    return { key, value, updated_at: at };
  }

  async writeAtomically(prepare: (base: SettingsSnapshotRows) => AtomicEntry[], actorIp: string | null): Promise<AtomicCommit> {
    const upsert = this.upsertStmt();
    const record = this.auditStmt();
    const at = new Date().toISOString();
    // IMMEDIATE: the write lock is held from the read of the base to the commit, so nothing the
    // check saw can change before the write lands. prepare() throwing rolls everything back.
    const commit = this.db
      .transaction((): { commit: AtomicCommit; keys: string[] } => {
        const base = this.readSnapshot();
        const entries = prepare(base);
        const generation = this.bump();
        for (const e of entries) {
          upsert.run(e.key, e.value, at);
          record.run(e.key, e.fingerprint, actorIp, at);
        }
        return { commit: { base, generation, updatedAt: at }, keys: entries.map((e) => e.key) };
      })
      .immediate();
    for (const key of commit.keys) this.notify(key);
    return commit.commit;
  }

  async generation(): Promise<number> {
    return (this.stmt('SELECT n FROM settings_generation WHERE id = 1').get() as { n: number } | undefined)?.n ?? 0;
  }

  async snapshot(): Promise<SettingsSnapshotRows> {
    // A read transaction: the rows and the generation come from one committed state.
    return this.db.transaction(() => this.readSnapshot())();
  }

  private readSnapshot(): SettingsSnapshotRows {
    const g = this.stmt('SELECT n FROM settings_generation WHERE id = 1').get() as { n: number } | undefined;
    const rows = this.stmt('SELECT key, value, updated_at FROM admin_settings ORDER BY key').all() as SettingRow[];
    return { generation: g?.n ?? 0, rows };
  }

  /** Inside a write transaction: the new generation. */
  private bump(): number {
    return (this.stmt('UPDATE settings_generation SET n = n + 1 WHERE id = 1 RETURNING n').get() as { n: number }).n;
  }

  private upsertStmt(): Database.Statement {
    return this.stmt(
      `INSERT INTO admin_settings (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
  }

  async delete(key: string, audit: AuditEntry): Promise<void> {
    const remove = this.stmt('DELETE FROM admin_settings WHERE key = ?');
    const record = this.auditStmt();
    const at = new Date().toISOString();
    this.db
      .transaction(() => {
        this.bump();
        remove.run(key);
        // A deletion has no value to fingerprint, whatever the caller passed.
        record.run(key, null, audit.actorIp, at);
      })
      .immediate();
    this.notify(key);
  }

  async listAudit(limit?: number): Promise<AuditRow[]> {
    return this.stmt(
      'SELECT id, key, fingerprint, actor_ip, at FROM settings_audit ORDER BY id DESC LIMIT ?',
    ).all(auditLimit(limit)) as AuditRow[];
  }

  async ping(): Promise<void> {
    this.stmt('SELECT 1').get();
  }

  async subscribe(listener: Listener): Promise<() => Promise<void>> {
    this.assertOpen();
    // Wrapped so that subscribing the same function twice yields two independent subscriptions.
    const entry: Listener = (key) => listener(key);
    let set = this.subscribers();
    if (!set) subscribersByFile.set(this.fileKey as string, (set = new Set()));
    set.add(entry);
    this.own.add(entry);
    return async () => this.unsubscribe(entry);
  }

  async close(): Promise<void> {
    for (const entry of [...this.own]) this.unsubscribe(entry);
    if (this.db.open) this.db.close();
  }

  private subscribers(): Set<Listener> | undefined {
    return this.fileKey === null ? this.memorySubscribers : subscribersByFile.get(this.fileKey);
  }

  private unsubscribe(entry: Listener): void {
    this.own.delete(entry);
    const set = this.subscribers();
    set?.delete(entry);
    // Dropped when empty so that many short-lived stores (tests, temp files) leave nothing behind.
    if (set?.size === 0 && this.fileKey !== null) subscribersByFile.delete(this.fileKey);
  }

  private notify(key: string): void {
    for (const listener of [...(this.subscribers() ?? [])]) {
      try {
        listener(key);
      } catch (err) {
        // The write is committed; a faulty subscriber must not turn it into a failed put.
        this.log(
          `settings subscriber failed for ${key}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  }

  private auditStmt(): Database.Statement {
    return this.stmt('INSERT INTO settings_audit (key, fingerprint, actor_ip, at) VALUES (?, ?, ?, ?)');
  }

  /** Statements are prepared once, on first use: the tables exist only after migrate(). */
  private stmt(sql: string): Database.Statement {
    this.assertOpen();
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private assertOpen(): void {
    if (!this.db.open) throw new Error('The settings store is closed.');
  }
}
