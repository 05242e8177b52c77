import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredSession } from '../../src/store/dashboard-sessions.js';
import { migrate, migrationName, type MigrationSet } from '../../src/store/sql/migrate.js';
import { openPostgres } from '../../src/store/sql/postgres-db.js';
import { openSqlite } from '../../src/store/sql/sqlite-db.js';
import { LATEST_STATE_SCHEMA_VERSION, STATE_MIGRATION_SET } from '../../src/store/state-migrations.js';
import type { StateStore } from '../../src/store/state-store.js';
import { POSTGRES_TEST_URL } from '../helpers/postgres.js';
import { ALL_STATE_BACKENDS, anyStateBackend, type AnyStateBackend } from './any-state-backend.js';
import { siteUrl } from './state-store-fixture.js';

const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 12, minutes)).toISOString();
const session = (id_hash: string, expiresAtMinute: number): StoredSession => ({
  id_hash,
  actor: 'admin',
  address: '127.0.0.1',
  created_at: at(0),
  expires_at: at(expiresAtMinute),
  last_seen_at: at(0),
});
const hash = (c: string) => c.repeat(64);

/** The dashboard's sessions table (StateStore.sessions), on SQLite and on Postgres alike. */
describe.each(ALL_STATE_BACKENDS)('dashboard sessions on %s', (backend) => {
  let fx: AnyStateBackend;
  let store: StateStore;
  beforeEach(async () => {
    fx = anyStateBackend(backend);
    store = await fx.open();
  });
  afterEach(() => fx.cleanup());

  it('keeps a session across a restart until it is deleted', async () => {
    await store.sessions.create(session(hash('a'), 30));
    await store.close();
    const reopened = await fx.open();
    expect(await reopened.sessions.find(hash('a'))).toEqual(session(hash('a'), 30));
    expect(await reopened.sessions.find(hash('b'))).toBeUndefined();
    expect(await reopened.sessions.delete(hash('a'))).toBe(true);
    expect(await reopened.sessions.delete(hash('a'))).toBe(false);
    expect(await reopened.sessions.find(hash('a'))).toBeUndefined();
  });

  it('is shared by two stores on one database: a login and a logout on one are seen by the other', async () => {
    const other = await fx.open();
    await store.sessions.create(session(hash('c'), 30));
    expect((await other.sessions.find(hash('c')))?.actor).toBe('admin');
    await other.sessions.delete(hash('c'));
    expect(await store.sessions.find(hash('c'))).toBeUndefined();
  });

  it('moves last_seen_at forward only', async () => {
    await store.sessions.create(session(hash('d'), 30));
    await store.sessions.touch(hash('d'), at(5));
    await store.sessions.touch(hash('d'), at(2));
    expect((await store.sessions.find(hash('d')))?.last_seen_at).toBe(at(5));
  });

  it('deletes expired sessions only', async () => {
    await store.sessions.create(session(hash('e'), 10));
    await store.sessions.create(session(hash('f'), 20));
    await store.sessions.create(session(hash('0'), 30));
    expect(await store.sessions.deleteExpired(at(20))).toBe(2); // expires_at <= now
    expect(
      (await fx.sql<{ id_hash: string }>('SELECT id_hash FROM dashboard_sessions')).map((r) => r.id_hash),
    ).toEqual([hash('0')]);
  });

  it('upgrades a version 2 database: its runs keep their sites, without changes', async () => {
    const v2: MigrationSet = {
      ...STATE_MIGRATION_SET,
      migrations: STATE_MIGRATION_SET.migrations.filter((m) => m.version <= 2),
    };
    const old = anyStateBackend(backend);
    try {
      const db =
        backend === 'sqlite'
          ? openSqlite(join(old.dir, 'keyfleet.db'))
          : openPostgres(POSTGRES_TEST_URL, old.env.KEYFLEET_DB_SCHEMA ?? '', { appName: 'test' }).db;
      try {
        await migrate(db, v2);
      } finally {
        await db.close();
      }
      await old.sql(
        `INSERT INTO runs (id, command, dry_run, state, started_at, actor, keys_json, options_json)
         VALUES ('20260101-000000-abcd', 'push', $1, 'done', $2, 'tester', '{}', '{}')`,
        [backend === 'sqlite' ? 1 : true, at(0)],
      );
      await old.sql(
        `INSERT INTO run_sites (run_id, url, position, status) VALUES ('20260101-000000-abcd', $1, 0, 'ok')`,
        [siteUrl(1)],
      );
      const upgraded = await old.open();
      const versions = await old.sql<{ name: string }>('SELECT MAX(name) AS name FROM state_migrations');
      expect(versions[0]?.name).toBe(migrationName(LATEST_STATE_SCHEMA_VERSION));
      const [site] = await upgraded.siteResults('20260101-000000-abcd');
      expect(site).toMatchObject({ url: siteUrl(1), status: 'ok' });
      expect(site).not.toHaveProperty('changes');
      await upgraded.sessions.create(session(hash('9'), 30));
      expect(await upgraded.sessions.find(hash('9'))).toBeDefined();
    } finally {
      await old.cleanup();
    }
  });
});
