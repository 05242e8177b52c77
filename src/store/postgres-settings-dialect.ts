import { createHash } from 'node:crypto';
import { sql } from './sql/kysely.js';
import type { RawBuilder } from 'kysely';
import type pg from 'pg';
import type { OpenSettingsStoreOptions } from './settings-store.js';
import { DEFAULT_RECONNECT, PgChannelListener } from './postgres-channel-listener.js';
import type { SettingsDialect } from './sql-settings-store.js';
import { openPostgres } from './sql/postgres-db.js';
import type { SettingsTables } from './sql/tables.js';

/**
 * The NOTIFY channel of a schema. Channel names are identifiers (63 bytes at most, longer ones are
 * silently truncated by LISTEN), so a long schema name is replaced by its hash.
 */
export function channelFor(schema: string): string {
  const plain = `keyfleet_settings:${schema}`;
  if (Buffer.byteLength(plain) <= 63) return plain;
  return `keyfleet_settings:${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

/** application_name of the LISTEN session, told apart in pg_stat_activity from the pool's `keyfleet-template:<schema>`. */
export const listenerNameFor = (schema: string): string => `keyfleet-listen:${schema}`.slice(0, 63);

/** TIMESTAMPTZ leaves the database as ISO-8601 UTC text, whatever type parsers the process installed. */
const isoText = (value: RawBuilder<unknown>) =>
  sql<string>`to_char(${value} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Opens the settings database on Postgres (pool sessions in the schema through search_path) and its
 * dialect: every write sends NOTIFY with each key in its own transaction, and one dedicated
 * connection LISTENs for them while anyone subscribes, so every instance sees every change at once.
 * The write time is the server's clock_timestamp(), read after the generation row's lock is won: the
 * last writer has the latest time, whatever the instances' clocks say.
 *
 * @example const { db, dialect } = openPostgresSettings(url, { schema: 'site_a' });
 */
export function openPostgresSettings(url: string, opts: OpenSettingsStoreOptions = {}) {
  const schema = opts.schema ?? 'public';
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  const appName = `keyfleet-template:${schema}`;
  const { db, pool, clientConfig } = openPostgres<SettingsTables>(url, schema, { appName, connectTimeoutMs: timeoutMs, log });
  const channel = channelFor(schema);
  const dialect: SettingsDialect = {
    iso: (column) => isoText(sql.ref(column)),
    now: isoText(sql`clock_timestamp()`),
    announce: async (trx, keys) => {
      await sql`SELECT pg_notify(${channel}, k) FROM unnest(${[...keys]}::text[]) AS u(k)`.execute(trx);
    },
    listen: async (emit) => {
      const listener = new PgChannelListener({
        clientConfig: { ...clientConfig, application_name: listenerNameFor(schema) },
        channel,
        onNotify: emit,
        // After an outage every key that exists or was ever audited may have changed: re-announce them.
        onReconnect: async () => {
          const keys = db.k.selectFrom('admin_settings').select('key').union(db.k.selectFrom('settings_audit').select('key'));
          for (const { key } of await keys.execute()) emit(key);
        },
        log,
        reconnect: DEFAULT_RECONNECT,
        name: 'settings listener',
      });
      await listener.start();
      return () => listener.stop();
    },
    // The read-after-write check runs once per batch of reads: a named statement is parsed and
    // planned once per connection, not on every check (it cost a quarter of the template's reads).
    generation: async () => {
      const text = 'SELECT n FROM settings_generation WHERE id = 1';
      const res = await pool.query<{ n: string }>({ name: 'keyfleet_settings_generation', text });
      return Number(res.rows[0]?.n ?? 0);
    },
    ping: async () => {
      // Bounded, so a server that accepts connections but stops answering fails the health check.
      // pg honours a per-query query_timeout; @types/pg does not declare it.
      const probe: pg.QueryConfig & { query_timeout: number } = { text: 'SELECT 1', query_timeout: timeoutMs };
      await pool.query(probe);
    },
  };
  return { db, dialect };
}
