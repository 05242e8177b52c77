import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_SQLITE_PATH,
  SettingsStoreOpenError,
  maskDatabaseUrl,
  openSettingsStore,
  parseDatabaseUrl,
} from '../../src/store/open-settings-store.js';
import type { SettingsStore } from '../../src/store/settings-store.js';
import {
  POSTGRES_TEST_URL,
  dropSchema,
  freshSchemaName,
  unreachablePostgresUrl,
} from '../helpers/postgres.js';

describe('parseDatabaseUrl', () => {
  it.each([
    [undefined, { backend: 'sqlite', path: DEFAULT_SQLITE_PATH }],
    ['', { backend: 'sqlite', path: DEFAULT_SQLITE_PATH }],
    ['   ', { backend: 'sqlite', path: DEFAULT_SQLITE_PATH }],
    ['sqlite:./data/site.db', { backend: 'sqlite', path: './data/site.db' }],
    ['sqlite://./data/site.db', { backend: 'sqlite', path: './data/site.db' }],
    ['sqlite:///var/lib/site.db', { backend: 'sqlite', path: '/var/lib/site.db' }],
    ['sqlite::memory:', { backend: 'sqlite', path: ':memory:' }],
    ['file:relative/site.db', { backend: 'sqlite', path: 'relative/site.db' }],
    ['file:///var/lib/my%20site.db', { backend: 'sqlite', path: '/var/lib/my site.db' }],
    ['postgres://app:pw@db:5432/site', { backend: 'postgres', url: 'postgres://app:pw@db:5432/site' }],
    ['PostgreSQL://db/site', { backend: 'postgres', url: 'PostgreSQL://db/site' }],
  ])('%j → %j', (input, expected) => {
    expect(parseDatabaseUrl(input)).toEqual(expected);
  });

  it('rejects a file:// URL with a host, saying how to write one', () => {
    expect(() => parseDatabaseUrl('file://dbhost/site.db')).toThrow('file:///absolute/path.db');
  });

  it.each([
    'mysql://root:hunter2@db/site',
    'mysql:root:hunter2@db',
    './data/site.db',
    'sqlite:',
    'postgres:/db',
  ])('rejects %j naming the accepted forms, never echoing the password', (input) => {
    let caught: unknown;
    try {
      parseDatabaseUrl(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SettingsStoreOpenError);
    const err = caught as SettingsStoreOpenError;
    expect(err.code).toBe('invalid_database_url');
    expect(err.message).toContain('sqlite:<path>');
    expect(err.message).toContain('postgres://');
    expect(err.message).not.toContain('hunter2');
  });
});

describe('maskDatabaseUrl', () => {
  it('hides passwords in URLs anywhere in a text, and password= parameters', () => {
    expect(maskDatabaseUrl('postgres://app:s3cret@db/site')).toBe('postgres://app:***@db/site');
    expect(maskDatabaseUrl('at postgresql://app:p@ss@db:5432/x failed')).toBe(
      'at postgresql://app:***@db:5432/x failed',
    );
    expect(maskDatabaseUrl('postgres://db/site?password=s3cret&sslmode=require')).toBe(
      'postgres://db/site?password=***&sslmode=require',
    );
    expect(maskDatabaseUrl('postgres://db:5432/site')).toBe('postgres://db:5432/site');
  });
});

describe('openSettingsStore', () => {
  const cleanups: Array<() => Promise<void>> = [];
  const track = (store: SettingsStore) => {
    cleanups.push(() => store.close());
    return store;
  };
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('opens and migrates SQLite from sqlite: and file: URLs, creating the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyfleet-open-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'a', 'b', 'site.db');
    const first = track(await openSettingsStore(`sqlite:${file}`));
    expect(first.backend).toBe('sqlite');
    expect(existsSync(file)).toBe(true);
    await first.put('stripe_price_id', 'price_1', { fingerprint: null, actorIp: null });
    const second = track(await openSettingsStore(pathToFileURL(file).href));
    expect((await second.get('stripe_price_id'))?.value).toBe('price_1');
  });

  it('opens and migrates Postgres in the given schema', async () => {
    const schema = freshSchemaName();
    cleanups.push(() => dropSchema(schema));
    const store = track(await openSettingsStore(POSTGRES_TEST_URL, { schema }));
    expect(store.backend).toBe('postgres');
    await store.put('stripe_price_id', 'price_pg', { fingerprint: null, actorIp: null });
    expect((await store.getAll()).map((r) => r.value)).toEqual(['price_pg']);
  });

  it('reports an unreachable Postgres with a masked password and the driver code', async () => {
    const url = await unreachablePostgresUrl('hunter2-secret');
    const err = await openSettingsStore(url, { connectTimeoutMs: 1000 }).then(
      () => expect.fail('opened an unreachable database'),
      (e: unknown) => e as SettingsStoreOpenError,
    );
    expect(err).toBeInstanceOf(SettingsStoreOpenError);
    expect(err.code).toBe('database_unavailable');
    expect(err.driverCode).toBe('ECONNREFUSED');
    expect(err.message).toContain(':***@127.0.0.1');
    expect(err.message).not.toContain('hunter2');
  });

  it('reports a SQLite file that cannot be created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyfleet-open-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    // The database path is an existing directory: SQLite cannot open it as a file.
    await expect(openSettingsStore(`sqlite:${dir}`)).rejects.toMatchObject({
      code: 'database_unavailable',
      message: expect.stringContaining(`SQLite database ${dir}`),
    });
  });
});
