import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/settings-migrations.js';
import type { SettingsStore } from '../../src/store/settings-store.js';
import { migrationName } from '../../src/store/sql/migrate.js';
import { BACKENDS, recordKeys, storeFixture, type StoreFixture } from './store-fixture.js';
import { makeKey } from '../helpers/keys.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const audit = (value: string | null, actorIp: string | null = '127.0.0.1') => ({
  fingerprint: value === null ? null : fingerprint(value),
  actorIp,
});

/** Yields until the wall clock has moved past `iso`, so the next write gets a later timestamp. */
async function clockPast(iso: string): Promise<void> {
  while (new Date().toISOString() <= iso) await new Promise((r) => setImmediate(r));
}

describe.each(BACKENDS)('settings store on %s', (backend) => {
  let fx: StoreFixture;
  let store: SettingsStore;

  beforeEach(async () => {
    fx = storeFixture(backend);
    store = await fx.open();
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  it('reports its backend and answers ping', async () => {
    expect(store.backend).toBe(backend);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('migrates idempotently, also when two instances start together', async () => {
    await store.put('stripe_price_id', 'price_1', audit('price_1'));
    await store.migrate();
    const [a, b] = await Promise.all([fx.open(), fx.open()]);
    await Promise.all([a.migrate(), b.migrate(), store.migrate()]);
    const versions = await fx.raw<{ name: string }>('SELECT name FROM settings_migrations ORDER BY name');
    expect(versions.map((r) => Number(r.name))).toEqual(MIGRATIONS.map((m) => m.version));
    expect((await a.get('stripe_price_id'))?.value).toBe('price_1');
  });

  it('refuses a database migrated by a newer keyfleet', async () => {
    const future = LATEST_SCHEMA_VERSION + 1;
    await fx.raw(
      `INSERT INTO settings_migrations (name, timestamp) VALUES ('${migrationName(future)}', '2099-01-01T00:00:00.000Z')`,
    );
    await expect(store.migrate()).rejects.toThrow(`schema version ${future}, newer than this keyfleet knows`);
  });

  it('adopts a database made before settings_migrations, and refuses one at a version it does not know', async () => {
    await store.put('stripe_price_id', 'price_old', audit('price_old'));
    const generation = await store.generation();
    await store.close();
    // What a release before Kysely left: its own version table, no settings_migrations.
    await fx.raw('DROP TABLE settings_migrations');
    await fx.raw('CREATE TABLE settings_schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS) {
      await fx.raw(`INSERT INTO settings_schema_migrations (version, applied_at) VALUES (${m.version}, '2026-01-01T00:00:00.000Z')`);
    }
    const adopted = await fx.open();
    expect((await adopted.get('stripe_price_id'))?.value).toBe('price_old');
    expect(await adopted.generation()).toBe(generation);
    const names = await fx.raw<{ name: string }>('SELECT name FROM settings_migrations ORDER BY name');
    expect(names.map((r) => Number(r.name))).toEqual(MIGRATIONS.map((m) => m.version));
    await adopted.close();

    const future = LATEST_SCHEMA_VERSION + 1;
    await fx.raw('DROP TABLE settings_migrations');
    await fx.raw(`INSERT INTO settings_schema_migrations (version, applied_at) VALUES (${future}, '2099-01-01T00:00:00.000Z')`);
    await expect(fx.open()).rejects.toThrow(`schema version ${future}, newer than this keyfleet knows`);
  });

  it('puts, gets, lists and deletes', async () => {
    expect(await store.get('stripe_publishable_key')).toBeUndefined();
    expect(await store.getAll()).toEqual([]);
    const row = await store.put('stripe_publishable_key', 'pk_test_abc', audit('pk_test_abc'));
    expect(row).toEqual({
      key: 'stripe_publishable_key',
      value: 'pk_test_abc',
      updated_at: expect.stringMatching(ISO_UTC),
    });
    await store.put('stripe_price_id', 'price_abc', audit('price_abc'));
    expect(await store.get('stripe_publishable_key')).toEqual(row);
    expect((await store.getAll()).map((r) => [r.key, r.value])).toEqual([
      ['stripe_price_id', 'price_abc'],
      ['stripe_publishable_key', 'pk_test_abc'],
    ]);
    await store.delete('stripe_publishable_key', audit(null));
    expect(await store.get('stripe_publishable_key')).toBeUndefined();
    expect((await store.getAll()).map((r) => r.key)).toEqual(['stripe_price_id']);
    // Deleting what is not there is not an error (and is still audited below).
    await expect(store.delete('stripe_publishable_key', audit(null))).resolves.toBeUndefined();
  });

  it('returns ISO-8601 UTC timestamps that move forward on every put', async () => {
    const before = new Date().toISOString();
    const first = await store.put('stripe_secret_key', 'sk_test_one', audit('sk_test_one'));
    expect(first.updated_at).toMatch(ISO_UTC);
    expect(first.updated_at >= before.slice(0, 19)).toBe(true);
    await clockPast(first.updated_at);
    const second = await store.put('stripe_secret_key', 'sk_test_two', audit('sk_test_two'));
    expect(second.updated_at > first.updated_at).toBe(true);
    expect((await store.get('stripe_secret_key'))?.updated_at).toBe(second.updated_at);
  });

  it('appends an audit row per put and delete, newest first, never with the value', async () => {
    const secret = makeKey('sk', 'live');
    await store.put('stripe_secret_key', secret, audit(secret, '203.0.113.9'));
    await store.put('stripe_price_id', 'price_x', audit('price_x', null));
    // The caller's fingerprint is ignored for a deletion: there is no value to fingerprint.
    await store.delete('stripe_secret_key', { fingerprint: 'ffffffffffffffff', actorIp: '203.0.113.10' });
    const rows = await store.listAudit();
    expect(rows).toEqual([
      {
        id: expect.any(Number),
        key: 'stripe_secret_key',
        fingerprint: null,
        actor_ip: '203.0.113.10',
        at: expect.stringMatching(ISO_UTC),
      },
      {
        id: expect.any(Number),
        key: 'stripe_price_id',
        fingerprint: fingerprint('price_x'),
        actor_ip: null,
        at: expect.stringMatching(ISO_UTC),
      },
      {
        id: expect.any(Number),
        key: 'stripe_secret_key',
        fingerprint: fingerprint(secret),
        actor_ip: '203.0.113.9',
        at: expect.stringMatching(ISO_UTC),
      },
    ]);
    expect(rows[0]!.id).toBeGreaterThan(rows[1]!.id);
    expect(rows[1]!.id).toBeGreaterThan(rows[2]!.id);
    expect(JSON.stringify(rows)).not.toContain('ThisMustNeverBeAudited');
    const raw = await fx.raw('SELECT * FROM settings_audit');
    expect(JSON.stringify(raw)).not.toContain('ThisMustNeverBeAudited');
    expect((await store.listAudit(2)).map((r) => r.id)).toEqual([rows[0]!.id, rows[1]!.id]);
  });

  it('keeps the audit append-only', async () => {
    await store.put('stripe_price_id', 'price_x', audit('price_x'));
    await expect(fx.raw("UPDATE settings_audit SET actor_ip = 'forged'")).rejects.toThrow(/append-only/);
    await expect(fx.raw('DELETE FROM settings_audit')).rejects.toThrow(/append-only/);
    expect(await store.listAudit()).toHaveLength(1);
  });

  it('keeps every value across a restart', async () => {
    const values = {
      stripe_publishable_key: 'pk_test_r',
      stripe_secret_key: 'sk_test_r',
      stripe_price_id: 'price_r',
    };
    for (const [k, v] of Object.entries(values)) await store.put(k, v, audit(v));
    const before = await store.getAll();
    await store.close();
    const reopened = await fx.open();
    expect(await reopened.getAll()).toEqual(before);
    expect(await reopened.listAudit()).toHaveLength(3);
  });

  it('leaves exactly one of 200 concurrent puts to one key, with 200 audit rows', async () => {
    const values = Array.from({ length: 200 }, (_, i) => `sk_test_concurrent${i}`);
    const results = await Promise.all(values.map((v) => store.put('stripe_secret_key', v, audit(v))));
    expect(results.map((r) => r.value)).toEqual(values);
    const all = await store.getAll();
    expect(all).toHaveLength(1);
    expect(values).toContain(all[0]!.value);
    const rows = await store.listAudit(1000);
    expect(rows).toHaveLength(200);
    expect(new Set(rows.map((r) => r.fingerprint))).toEqual(new Set(values.map((v) => fingerprint(v))));
    // Last writer wins: the stored value is the one whose audit row was appended last.
    expect(rows[0]!.fingerprint).toBe(fingerprint(all[0]!.value));
  });

  it('notifies subscribers of puts and deletes until they unsubscribe', async () => {
    const rec = await recordKeys(store);
    await store.put('stripe_price_id', 'price_n', audit('price_n'));
    await store.delete('stripe_price_id', audit(null));
    expect(await rec.waitFor(2)).toEqual(['stripe_price_id', 'stripe_price_id']);
    await rec.stop();
    const after = await recordKeys(store);
    await store.put('stripe_publishable_key', 'pk_test_n', audit('pk_test_n'));
    await after.waitFor(1);
    // The put announced to `after` was committed after `rec` unsubscribed: `rec` never saw it.
    expect(rec.keys).toHaveLength(2);
  });

  it('keeps a write committed when a subscriber throws, and logs it', async () => {
    const logs: string[] = [];
    const logged = await fx.open({ log: (m) => logs.push(m) });
    await logged.subscribe(() => {
      throw new Error('subscriber bug');
    });
    const rec = await recordKeys(logged);
    await logged.put('stripe_price_id', 'price_t', audit('price_t'));
    await rec.waitFor(1);
    expect((await store.get('stripe_price_id'))?.value).toBe('price_t');
    expect(logs).toEqual([expect.stringContaining('subscriber bug')]);
  });

  it('throws from ping and from queries once closed', async () => {
    await store.close();
    await expect(store.ping()).rejects.toThrow('closed');
    await expect(store.get('stripe_price_id')).rejects.toThrow('closed');
    await expect(store.close()).resolves.toBeUndefined();
  });
});
