import { createHash } from 'node:crypto';
import pg from 'pg';
import { auditLimit } from './audit-limit.js';
import { migratePostgres, quoteIdent } from './settings-migrations.js';
import { DEFAULT_RECONNECT, PgChannelListener, type ReconnectPolicy } from './postgres-channel-listener.js';
import type { AtomicCommit, AtomicEntry, AuditEntry, AuditRow, SettingRow, SettingsSnapshotRows, SettingsStore } from './settings-store.js';

export interface PostgresSettingsStoreOptions {
  /** Schema holding the tables (created if missing); separate schemas never see each other's changes. */
  schema?: string;
  /** Receives connection problems that have no caller to throw to (listener drops, idle errors). */
  log?: (msg: string) => void;
  /** Limit for opening a connection and for ping, so an unreachable server fails fast instead of hanging. */
  connectTimeoutMs?: number;
  poolSize?: number;
  reconnect?: Partial<ReconnectPolicy>;
}

type Listener = (key: string) => void;

/** Timestamps leave the database as ISO-8601 UTC text, whatever type parsers the process installed. */
const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The NOTIFY channel of a schema. Channel names are identifiers (63 bytes at most, longer ones are
 * silently truncated by LISTEN), so a long schema name is replaced by its hash.
 */
export function channelFor(schema: string): string {
  const plain = `keyfleet_settings:${schema}`;
  if (Buffer.byteLength(plain) <= 63) return plain;
  return `keyfleet_settings:${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

/**
 * The template site's store on Postgres, for several instances sharing one database. Queries go
 * through a pool; every put/delete sends NOTIFY with the setting key in the same statement, and one
 * dedicated connection LISTENs for them, so every instance's `subscribe` sees every change at once.
 *
 * @example const store = new PostgresSettingsStore('postgres://app@db/site', { schema: 'site_a' });
 *          await store.migrate(); await store.subscribe((key) => cache.delete(key));
 */
export class PostgresSettingsStore implements SettingsStore {
  readonly backend = 'postgres' as const;
  readonly schema: string;
  readonly channel: string;
  /** application_name of the LISTEN session (pool sessions use `keyfleet-template:<schema>`). */
  readonly listenerName: string;
  private readonly pool: pg.Pool;
  private readonly clientConfig: pg.ClientConfig;
  private readonly listeners = new Set<Listener>();
  private readonly log: (msg: string) => void;
  private readonly reconnect: ReconnectPolicy;
  private readonly timeoutMs: number;
  private readonly table: { settings: string; audit: string; generation: string };
  /** Prepared statement names are per connection; one per schema, since the text names the schema. */
  private readonly generationStatement: string;
  private listener: PgChannelListener | null = null;
  private listening: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  constructor(connectionString: string, options: PostgresSettingsStoreOptions = {}) {
    this.schema = options.schema ?? 'public';
    if (this.schema === '' || Buffer.byteLength(this.schema) > 63) {
      throw new Error('The Postgres schema name must be 1 to 63 bytes long.');
    }
    this.channel = channelFor(this.schema);
    this.generationStatement = `kf_generation_${createHash('sha256').update(this.schema).digest('hex').slice(0, 16)}`;
    this.log = options.log ?? (() => undefined);
    this.reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
    const q = quoteIdent(this.schema);
    this.table = { settings: `${q}.admin_settings`, audit: `${q}.settings_audit`, generation: `${q}.settings_generation` };
    this.timeoutMs = options.connectTimeoutMs ?? 10_000;
    this.clientConfig = {
      connectionString,
      connectionTimeoutMillis: this.timeoutMs,
      application_name: `keyfleet-template:${this.schema}`.slice(0, 63),
    };
    this.listenerName = `keyfleet-listen:${this.schema}`.slice(0, 63);
    this.pool = new pg.Pool({ ...this.clientConfig, max: options.poolSize ?? 10 });
    // An idle pooled connection that dies emits 'error' on the pool; unhandled, it would crash the process.
    this.pool.on('error', (err) => this.log(`idle Postgres connection failed: ${err.message}`));
  }

  async migrate(): Promise<void> {
    const client = await this.connect();
    try {
      await migratePostgres(client, this.schema);
    } finally {
      client.release();
    }
  }

  async get(key: string): Promise<SettingRow | undefined> {
    const res = await this.query<SettingRow>(
      `SELECT key, value, ${iso('updated_at')} AS updated_at FROM ${this.table.settings} WHERE key = $1`,
      [key],
    );
    return res.rows[0];
  }

  async getAll(): Promise<SettingRow[]> {
    const res = await this.query<SettingRow>(
      `SELECT key, value, ${iso('updated_at')} AS updated_at FROM ${this.table.settings} ORDER BY key`,
    );
    return res.rows;
  }

  async put(key: string, value: string, audit: AuditEntry): Promise<SettingRow> {
    // One statement is one transaction: generation bump, upsert, audit row and NOTIFY commit (or fail)
    // together. The upsert reads from g, so the generation row is locked first — the same order as
    // writeAtomically, so the two never deadlock — and clock_timestamp() is read after that lock is
    // won: the last writer has the latest time.
    const res = await this.query<SettingRow>(
      `WITH g AS (
         UPDATE ${this.table.generation} SET n = n + 1 WHERE id = 1 RETURNING n
       ), s AS (
         INSERT INTO ${this.table.settings} AS t (key, value, updated_at) SELECT $1, $2, clock_timestamp() FROM g
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = clock_timestamp()
         RETURNING t.key, t.value, t.updated_at
       ), a AS (
         INSERT INTO ${this.table.audit} (key, fingerprint, actor_ip, at)
         SELECT s.key, $3, $4, s.updated_at FROM s
       )
       SELECT s.key, s.value, ${iso('s.updated_at')} AS updated_at, pg_notify($5, s.key) FROM s`,
      [key, value, audit.fingerprint, audit.actorIp, this.channel],
    );
    const row = res.rows[0];
    if (!row) throw new Error(`put of ${key} returned no row`);
    return { key: row.key, value: row.value, updated_at: row.updated_at };
  }

  async delete(key: string, audit: AuditEntry): Promise<void> {
    // A deletion has no value to fingerprint, whatever the caller passed.
    await this.query(
      `WITH g AS (
         UPDATE ${this.table.generation} SET n = n + 1 WHERE id = 1 RETURNING n
       ), d AS (
         DELETE FROM ${this.table.settings} WHERE key = $1 AND EXISTS (SELECT 1 FROM g)
       ), a AS (
         INSERT INTO ${this.table.audit} (key, fingerprint, actor_ip, at) SELECT $1, NULL, $2, clock_timestamp() FROM g
       )
       SELECT pg_notify($3, $1) FROM g`,
      [key, audit.actorIp, this.channel],
    );
  }

  async writeAtomically(prepare: (base: SettingsSnapshotRows) => AtomicEntry[], actorIp: string | null): Promise<AtomicCommit> {
    const client = await this.connect();
    let began = false;
    try {
      await client.query('BEGIN');
      began = true;
      // The generation row is the write lock: every writer takes it first, so the rows read next are
      // exactly the committed state the check runs against, and nothing changes them before COMMIT.
      const g = await client.query<{ n: string; at: string }>(
        `UPDATE ${this.table.generation} SET n = n + 1 WHERE id = 1 RETURNING n, ${iso('clock_timestamp()')} AS at`,
      );
      const bumped = g.rows[0];
      if (!bumped) throw new Error('settings_generation has no row (the migration did not run)');
      const rows = await client.query<SettingRow>(
        `SELECT key, value, ${iso('updated_at')} AS updated_at FROM ${this.table.settings} ORDER BY key`,
      );
      const generation = Number(bumped.n);
      const base = { generation: generation - 1, rows: rows.rows };
      const entries = prepare(base);
      if (entries.length > 0) {
        const keys = entries.map((e) => e.key);
        await client.query(
          `WITH s AS (
             INSERT INTO ${this.table.settings} AS t (key, value, updated_at)
             SELECT k, v, $3::timestamptz FROM unnest($1::text[], $2::text[]) AS u(k, v)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
             RETURNING t.key
           )
           INSERT INTO ${this.table.audit} (key, fingerprint, actor_ip, at)
           SELECT k, f, $5, $3::timestamptz FROM unnest($1::text[], $4::text[]) AS u(k, f)`,
          [keys, entries.map((e) => e.value), bumped.at, entries.map((e) => e.fingerprint), actorIp],
        );
        await client.query('SELECT pg_notify($1, k) FROM unnest($2::text[]) AS u(k)', [this.channel, keys]);
      }
      await client.query('COMMIT');
      began = false;
      return { base, generation, updatedAt: bumped.at };
    } catch (err) {
      if (began) await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async generation(): Promise<number> {
    // The read-after-write check runs once per batch of reads: a named statement is parsed and
    // planned once per connection, not on every check.
    this.assertOpen();
    const res = await this.pool.query<{ n: string }>({ name: this.generationStatement, text: `SELECT n FROM ${this.table.generation} WHERE id = 1` });
    return Number(res.rows[0]?.n ?? 0);
  }

  async snapshot(): Promise<SettingsSnapshotRows> {
    // One statement sees one committed state: the generation and the rows agree.
    const res = await this.query<{ n: string; key: string | null; value: string | null; updated_at: string | null }>(
      `SELECT g.n, s.key, s.value, ${iso('s.updated_at')} AS updated_at
         FROM ${this.table.generation} g LEFT JOIN ${this.table.settings} s ON true
        WHERE g.id = 1 ORDER BY s.key`,
    );
    const rows: SettingRow[] = [];
    for (const r of res.rows) if (r.key !== null) rows.push({ key: r.key, value: r.value ?? '', updated_at: r.updated_at ?? '' });
    return { generation: Number(res.rows[0]?.n ?? 0), rows };
  }

  async listAudit(limit?: number): Promise<AuditRow[]> {
    const res = await this.query<Omit<AuditRow, 'id'> & { id: string }>(
      `SELECT id, key, fingerprint, actor_ip, ${iso('at')} AS at FROM ${this.table.audit} ORDER BY id DESC LIMIT $1`,
      [auditLimit(limit)],
    );
    // BIGINT arrives as a string; audit ids stay far below 2^53.
    return res.rows.map((r) => ({ ...r, id: Number(r.id) }));
  }

  async ping(): Promise<void> {
    this.assertOpen();
    // Bounded, so a server that accepts connections but stops answering fails the health check.
    // pg honours a per-query query_timeout; @types/pg does not declare it.
    const probe: pg.QueryConfig & { query_timeout: number } = {
      text: 'SELECT 1',
      query_timeout: this.timeoutMs,
    };
    await this.pool.query(probe);
  }

  async subscribe(listener: Listener): Promise<() => Promise<void>> {
    this.assertOpen();
    const entry: Listener = (key) => listener(key);
    this.listeners.add(entry);
    try {
      await this.listen();
    } catch (err) {
      this.listeners.delete(entry);
      throw err;
    }
    return async () => {
      this.listeners.delete(entry);
      // The dedicated connection is held only while someone listens.
      if (this.listeners.size === 0) await this.unlisten();
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.listeners.clear();
      await this.unlisten();
      await this.pool.end();
    })();
    return this.closing;
  }

  private listen(): Promise<void> {
    if (!this.listening) {
      const listener = new PgChannelListener({
        // Its own application_name, so operators can tell the listening session apart in pg_stat_activity.
        clientConfig: { ...this.clientConfig, application_name: this.listenerName },
        channel: this.channel,
        onNotify: (key) => this.emit(key),
        onReconnect: () => this.resync(),
        log: this.log,
        reconnect: this.reconnect,
      });
      this.listener = listener;
      this.listening = listener.start().catch((err: unknown) => {
        this.listener = this.listening = null;
        throw err;
      });
    }
    return this.listening;
  }

  private async unlisten(): Promise<void> {
    const listener = this.listener;
    this.listener = this.listening = null;
    await listener?.stop();
  }

  /** After a listener outage every key that exists or was ever audited may have changed: re-announce them. */
  private async resync(): Promise<void> {
    const res = await this.query<{ key: string }>(
      `SELECT key FROM ${this.table.settings} UNION SELECT key FROM ${this.table.audit}`,
    );
    for (const { key } of res.rows) this.emit(key);
  }

  private emit(key: string): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(key);
      } catch (err) {
        this.log(
          `settings subscriber failed for ${key}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  }

  private query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    this.assertOpen();
    return this.pool.query<R>(text, values);
  }

  private connect(): Promise<pg.PoolClient> {
    this.assertOpen();
    return this.pool.connect();
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('The settings store is closed.');
  }
}
