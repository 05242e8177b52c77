import { createHash } from 'node:crypto';
import { sql } from './sql/kysely.js';
import type { RawBuilder } from 'kysely';
import type pg from 'pg';
import { DEFAULT_RECONNECT, PgChannelListener, type ReconnectPolicy } from './postgres-channel-listener.js';
import { deliver, type SettingsDialect, type SettingsListener } from './sql-settings-store.js';
import { openPostgres } from './sql/postgres-db.js';
import type { StoreDb } from './sql/store-db.js';
import type { SettingsTables } from './sql/tables.js';

export interface PostgresSettingsOptions {
  /** Schema holding the tables (created if missing); separate schemas never see each other's changes. */
  schema?: string;
  /** Receives connection problems that have no caller to throw to (listener drops, idle errors). */
  log?: (msg: string) => void;
  /** Limit for opening a connection and for ping, so an unreachable server fails fast instead of hanging. */
  connectTimeoutMs?: number;
  poolSize?: number;
  reconnect?: Partial<ReconnectPolicy>;
}

/**
 * The NOTIFY channel of a schema. Channel names are identifiers (63 bytes at most, longer ones are
 * silently truncated by LISTEN), so a long schema name is replaced by its hash.
 */
export function channelFor(schema: string): string {
  const plain = `keyfleet_settings:${schema}`;
  if (Buffer.byteLength(plain) <= 63) return plain;
  return `keyfleet_settings:${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

/** application_name of the LISTEN session, so operators can tell it apart in pg_stat_activity (pool: `keyfleet-template:<schema>`). */
export const listenerNameFor = (schema: string): string => `keyfleet-listen:${schema}`.slice(0, 63);

/** TIMESTAMPTZ leaves the database as ISO-8601 UTC text, whatever type parsers the process installed. */
const isoText = (value: RawBuilder<unknown>) => sql<string>`to_char(${value} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Opens the settings database on Postgres (pool sessions in the schema through search_path) and its
 * dialect: every write sends NOTIFY with each key in its own transaction, and one dedicated
 * connection LISTENs for them while anyone subscribes, so every instance sees every change at once.
 * The write time is the server's clock_timestamp(), read after the generation row's lock is won: the
 * last writer has the latest time, whatever the instances' clocks say.
 *
 * @example const { db, dialect } = openPostgresSettings(url, { schema: 'site_a' });
 */
export function openPostgresSettings(
  url: string,
  opts: PostgresSettingsOptions = {},
): { db: StoreDb<SettingsTables>; dialect: SettingsDialect } {
  const schema = opts.schema ?? 'public';
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  const { db, pool, clientConfig } = openPostgres<SettingsTables>(url, schema, {
    appName: `keyfleet-template:${schema}`,
    poolSize: opts.poolSize,
    connectTimeoutMs: timeoutMs,
    log,
  });
  const channel = channelFor(schema);
  const listeners = new Set<SettingsListener>();
  let listener: PgChannelListener | null = null;
  let listening: Promise<void> | null = null;
  const emit = (key: string) => deliver(listeners, key, log);

  const listen = (): Promise<void> => {
    if (!listening) {
      const l = new PgChannelListener({
        clientConfig: { ...clientConfig, application_name: listenerNameFor(schema) },
        channel,
        onNotify: emit,
        // After an outage every key that exists or was ever audited may have changed: re-announce them.
        onReconnect: async () => {
          const rows = await db.k.selectFrom('admin_settings').select('key').union(db.k.selectFrom('settings_audit').select('key')).execute();
          for (const { key } of rows) emit(key);
        },
        log,
        reconnect: { ...DEFAULT_RECONNECT, ...opts.reconnect },
      });
      listener = l;
      listening = l.start().catch((err: unknown) => {
        listener = listening = null;
        throw err;
      });
    }
    return listening;
  };
  const unlisten = async () => {
    const l = listener;
    listener = listening = null;
    await l?.stop();
  };

  const dialect: SettingsDialect = {
    iso: (column) => isoText(sql.ref(column)),
    now: isoText(sql`clock_timestamp()`),
    announce: async (trx, keys) => {
      await sql`SELECT pg_notify(${channel}, k) FROM unnest(${[...keys]}::text[]) AS u(k)`.execute(trx);
    },
    committed: () => undefined,
    subscribe: async (entry) => {
      listeners.add(entry);
      try {
        await listen();
      } catch (err) {
        listeners.delete(entry);
        throw err;
      }
      return async () => {
        listeners.delete(entry);
        // The dedicated connection is held only while someone listens.
        if (listeners.size === 0) await unlisten();
      };
    },
    // The read-after-write check runs once per batch of reads: a named statement is parsed and
    // planned once per connection, not on every check (it cost a quarter of the template's reads).
    generation: async () => {
      const res = await pool.query<{ n: string }>({ name: 'keyfleet_settings_generation', text: 'SELECT n FROM settings_generation WHERE id = 1' });
      return Number(res.rows[0]?.n ?? 0);
    },
    ping: async () => {
      // Bounded, so a server that accepts connections but stops answering fails the health check.
      // pg honours a per-query query_timeout; @types/pg does not declare it.
      const probe: pg.QueryConfig & { query_timeout: number } = { text: 'SELECT 1', query_timeout: timeoutMs };
      await pool.query(probe);
    },
    close: async () => {
      listeners.clear();
      await unlisten();
    },
  };
  return { db, dialect };
}
