import { sql } from './sql/kysely.js';
import type { CompiledQuery, Kysely, RawBuilder, Transaction } from 'kysely';
import { SETTINGS_MIGRATION_SET } from './settings-migrations.js';
import type {
  AtomicCommit, AtomicEntry, AuditEntry, AuditRow, SettingRow, SettingsSnapshotRows, SettingsStore,
} from './settings-store.js';
import { migrate } from './sql/migrate.js';
import { prepare, type Prepared, type StoreDb } from './sql/store-db.js';
import type { SettingsTables } from './sql/tables.js';

export type SettingsListener = (key: string) => void;

/** A row of the snapshot query: the generation, and a setting (all null when there is none). */
type SnapshotRow = { n: number | string; key: string | null; value: string | null; updated_at: string | null };

/** A value to write, and the fingerprint of its audit row. */
type Written = { key: string; value: string; fingerprint: string | null };

/**
 * `listAudit`'s limit as a positive integer both backends bind: 100 when absent, at most 10,000 (a typo
 * in a CLI flag must not pull an entire audit history into memory).
 */
const auditLimit = (limit: number | undefined) =>
  limit === undefined || !Number.isFinite(limit) ? 100 : Math.min(Math.max(Math.trunc(limit), 1), 10_000);

/**
 * What the settings store does differently per backend (sqlite-settings-dialect.ts,
 * postgres-settings-dialect.ts): how a timestamp reads as text, the write's clock, and how a change
 * reaches listening stores — Postgres NOTIFY to every instance, SQLite this process's stores on the file.
 */
export interface SettingsDialect {
  /** A timestamp column as ISO-8601 UTC text with milliseconds (`2026-01-02T03:04:05.678Z`). */
  iso(column: string): RawBuilder<string>;
  /** The write's time in the same form, read by the statement that takes the write lock. */
  readonly now: RawBuilder<string>;
  /** Inside the write's transaction: tells other instances (delivered only if it commits). */
  announce?(trx: Transaction<SettingsTables>, keys: readonly string[]): Promise<void>;
  /** After the commit: tells this process's stores where nothing else will. */
  committed?(keys: readonly string[]): void;
  /** Passes every instance's changes, this store's included, to `emit` until the returned stop is called. */
  listen(emit: SettingsListener): Promise<() => Promise<void>>;
  /** The generation, where the dialect reads it faster than the shared query (Postgres: a named statement). */
  generation?(): Promise<number>;
  /** Throws when the database cannot be reached, bounded where the store's own `SELECT 1` is not (Postgres). */
  ping?(): Promise<void>;
}

/**
 * The template site's store, one implementation on SQLite (default, one file) and Postgres (several
 * instances sharing one schema). Every write takes the `settings_generation` row first — on Postgres
 * that row lock serialises writers, on SQLite the IMMEDIATE transaction already holds the file — so
 * the generation increases in commit order and the time read with it is the latest. The per-request
 * reads (the snapshot, the generation) are compiled once and bind nothing: on Postgres they go as
 * simple queries, without a parse-bind round per call.
 *
 * @example const store = new SqlSettingsStore(db, sqliteSettingsDialect(path), log, path); await store.migrate();
 */
export class SqlSettingsStore implements SettingsStore {
  readonly backend: 'sqlite' | 'postgres';
  private closing: Promise<void> | null = null;
  private readonly listeners = new Set<SettingsListener>();
  /** The change feed (on Postgres a dedicated connection), held only while someone listens. */
  private feed: Promise<() => Promise<void>> | null = null;
  private readonly one: Prepared<string>;
  private readonly all: Prepared<string>;
  private readonly snap: Prepared<string>;
  private readonly gen: Prepared<string>;
  private readonly bump: Prepared<string>;

  constructor(
    private readonly db: StoreDb<SettingsTables>,
    private readonly dialect: SettingsDialect,
    private readonly log: (msg: string) => void = () => undefined,
    /** The SQLite file (its key file sits next to it); undefined on Postgres. */
    readonly path?: string,
  ) {
    this.backend = db.backend;
    const at = (column: string) => dialect.iso(column).as('updated_at');
    const settings = (k: Kysely<SettingsTables>) => k.selectFrom('admin_settings').select(['key', 'value', at('updated_at')]);
    this.one = prepare(db.k, (k, p) => settings(k).where('key', '=', p('key')));
    this.all = prepare(db.k, (k) => settings(k).orderBy('key'));
    // One statement sees one committed state: the generation and the rows agree.
    this.snap = prepare(db.k, (k) =>
      k.selectFrom('settings_generation as g').leftJoin('admin_settings as s', (j) => j.onTrue())
        .select(['g.n', 's.key', 's.value', at('s.updated_at')]).where('g.id', '=', sql.lit(1)).orderBy('s.key'),
    );
    this.gen = prepare(db.k, (k) => k.selectFrom('settings_generation').select('n').where('id', '=', sql.lit(1)));
    this.bump = prepare(db.k, (k) =>
      k.updateTable('settings_generation').set({ n: sql`n + 1` }).where('id', '=', sql.lit(1))
        .returning(['n', dialect.now.as('at')]),
    );
  }

  async migrate(): Promise<void> {
    this.assertOpen();
    await migrate(this.db, SETTINGS_MIGRATION_SET);
  }

  async get(key: string): Promise<SettingRow | undefined> {
    return (await this.read<SettingRow>(this.one({ key })))[0];
  }

  async getAll(): Promise<SettingRow[]> {
    return this.read<SettingRow>(this.all({}));
  }

  async put(key: string, value: string, audit: AuditEntry): Promise<SettingRow> {
    return this.commit(async (trx, _n, at) => {
      await this.write(trx, [{ key, value, fingerprint: audit.fingerprint }], audit.actorIp, at);
      return { result: { key, value, updated_at: at }, keys: [key] };
    });
  }

  async delete(key: string, audit: AuditEntry): Promise<void> {
    await this.commit(async (trx, _n, at) => {
      await trx.deleteFrom('admin_settings').where('key', '=', key).execute();
      await trx.insertInto('settings_audit').values({ key, fingerprint: null, actor_ip: audit.actorIp, at }).execute();
      return { result: undefined, keys: [key] };
    });
  }

  async writeAtomically(rowsFor: (base: SettingsSnapshotRows) => AtomicEntry[], actorIp: string | null): Promise<AtomicCommit> {
    return this.commit(async (trx, generation, at) => {
      const { rows } = await trx.executeQuery<SnapshotRow>(this.snap({}));
      const base = { ...this.rows(rows), generation: generation - 1 };
      const entries = rowsFor(base);
      if (entries.length > 0) await this.write(trx, entries, actorIp, at);
      return { result: { base, generation, updatedAt: at }, keys: entries.map((e) => e.key) };
    });
  }

  async generation(): Promise<number> {
    this.assertOpen();
    if (this.dialect.generation) return this.dialect.generation();
    return Number((await this.read<{ n: number | string }>(this.gen({})))[0]?.n ?? 0);
  }

  async snapshot(): Promise<SettingsSnapshotRows> {
    return this.rows(await this.read<SnapshotRow>(this.snap({})));
  }

  async listAudit(limit?: number): Promise<AuditRow[]> {
    this.assertOpen();
    const columns = ['id', 'key', 'fingerprint', 'actor_ip', this.dialect.iso('at').as('at')] as const;
    const newest = this.db.k.selectFrom('settings_audit').select(columns).orderBy('id', 'desc');
    const rows = await newest.limit(auditLimit(limit)).execute();
    // Postgres BIGINT arrives as a string; audit ids stay far below 2^53.
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }

  async ping(): Promise<void> {
    this.assertOpen();
    if (this.dialect.ping) return this.dialect.ping();
    await sql`SELECT 1`.execute(this.db.k);
  }

  async subscribe(listener: SettingsListener): Promise<() => Promise<void>> {
    this.assertOpen();
    // Wrapped so that subscribing the same function twice yields two independent subscriptions.
    const entry: SettingsListener = (key) => listener(key);
    this.listeners.add(entry);
    const feed = (this.feed ??= this.dialect.listen((key) => this.emit(key)));
    try {
      await feed;
    } catch (err) {
      this.listeners.delete(entry);
      if (this.feed === feed) this.feed = null;
      throw err;
    }
    return async () => {
      this.listeners.delete(entry);
      if (this.listeners.size === 0) await this.unlisten();
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.listeners.clear();
      await this.unlisten();
      await this.db.close();
    })();
    return this.closing;
  }

  /** Calls every listener with `key`; a throwing one is logged: the write is committed, it must not fail. */
  private emit(key: string): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(key);
      } catch (err) {
        this.log(`settings subscriber failed for ${key}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  private async unlisten(): Promise<void> {
    const feed = this.feed;
    this.feed = null;
    const stop = await feed?.catch(() => undefined);
    await stop?.();
  }

  /** One write transaction: the generation bump first, then `fn`, its keys announced with it. */
  private async commit<R>(
    fn: (trx: Transaction<SettingsTables>, generation: number, at: string) => Promise<{ result: R; keys: string[] }>,
  ): Promise<R> {
    this.assertOpen();
    const { result, keys } = await this.db.tx(async (trx) => {
      const bumped = (await trx.executeQuery<{ n: number | string; at: string }>(this.bump({}))).rows[0];
      if (!bumped) throw new Error('settings_generation has no row (the migration did not run)');
      const out = await fn(trx, Number(bumped.n), bumped.at);
      if (out.keys.length > 0) await this.dialect.announce?.(trx, out.keys);
      return out;
    });
    this.dialect.committed?.(keys);
    return result;
  }

  /** Upserts the values (last writer wins) and appends one audit row each — never the value. */
  private async write(trx: Transaction<SettingsTables>, entries: readonly Written[], actorIp: string | null, at: string) {
    await trx
      .insertInto('admin_settings')
      .values(entries.map((e) => ({ key: e.key, value: e.value, updated_at: at })))
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updated_at: eb.ref('excluded.updated_at') })),
      )
      .execute();
    const audit = entries.map((e) => ({ key: e.key, fingerprint: e.fingerprint, actor_ip: actorIp, at }));
    await trx.insertInto('settings_audit').values(audit).execute();
  }

  private rows(result: readonly SnapshotRow[]): SettingsSnapshotRows {
    const rows: SettingRow[] = [];
    for (const r of result) if (r.key != null) rows.push({ key: r.key, value: r.value ?? '', updated_at: r.updated_at ?? '' });
    return { generation: Number(result[0]?.n ?? 0), rows };
  }

  private async read<R>(query: CompiledQuery): Promise<R[]> {
    this.assertOpen();
    return (await this.db.k.executeQuery<R>(query)).rows;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('The settings store is closed.');
  }
}
