import { fileURLToPath } from 'node:url';
import type { OpenSettingsStoreOptions, SettingsStore } from './settings-store.js';
import { openSqlite } from './sql/sqlite-db.js';
import type { SettingsTables } from './sql/tables.js';
import { SqlSettingsStore } from './sql-settings-store.js';
import { sqliteSettingsDialect } from './sqlite-settings-dialect.js';

export const DEFAULT_SQLITE_PATH = './data/template.db';

const ACCEPTED_FORMS =
  `empty (SQLite at ${DEFAULT_SQLITE_PATH}), sqlite:<path>, sqlite://<path>, file:<path>, ` +
  'postgres://user:password@host:5432/db or postgresql://…';

export type DatabaseTarget = { backend: 'sqlite'; path: string } | { backend: 'postgres'; url: string };

/** A DATABASE_URL that is malformed (`invalid_database_url`) or could not be opened (`database_unavailable`). */
export class SettingsStoreOpenError extends Error {
  override readonly name = 'SettingsStoreOpenError';

  constructor(
    message: string,
    readonly code: 'invalid_database_url' | 'database_unavailable',
    /** The driver's own code (`ECONNREFUSED`, `28P01`, `SQLITE_CANTOPEN`), when it gave one. */
    readonly driverCode?: string,
  ) {
    super(message);
  }
}

const invalidUrl = (message: string) => new SettingsStoreOpenError(message, 'invalid_database_url');

/**
 * Which backend a DATABASE_URL selects. Blank means the default SQLite file; a path is used as
 * written (relative to the working directory), except `file://` URLs, which are decoded.
 *
 * @example parseDatabaseUrl('sqlite:///var/lib/site.db') // { backend: 'sqlite', path: '/var/lib/site.db' }
 */
export function parseDatabaseUrl(databaseUrl: string | undefined): DatabaseTarget {
  const url = databaseUrl?.trim() ?? '';
  if (url === '') return { backend: 'sqlite', path: DEFAULT_SQLITE_PATH };
  if (/^postgres(ql)?:\/\//i.test(url)) return { backend: 'postgres', url };
  if (/^file:\/\//i.test(url)) {
    try {
      return { backend: 'sqlite', path: fileURLToPath(url) };
    } catch {
      throw invalidUrl('DATABASE_URL is not a valid file URL: use file:///absolute/path.db or file:relative/path.db.');
    }
  }
  const path = /^(?:sqlite:(?:\/\/)?|file:)(.*)$/i.exec(url)?.[1];
  if (path === undefined) {
    // Only the scheme is echoed: the rest may hold a password in a form no mask recognises.
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    const what = scheme ? `scheme "${scheme}:"` : 'value (no scheme)';
    throw invalidUrl(`Unsupported DATABASE_URL ${what}. Accepted forms: ${ACCEPTED_FORMS}.`);
  }
  if (path === '') throw invalidUrl(`DATABASE_URL names no file. Accepted forms: ${ACCEPTED_FORMS}.`);
  return { backend: 'sqlite', path };
}

/**
 * Hides the password of every URL in `text` (`postgres://app:***@db/site`), and any `password=`
 * parameter. Greedy up to the last `@`, so a password containing an unescaped `@` is hidden too.
 */
export function maskDatabaseUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s]*@/gi, '$1:***@').replace(/([?&]password=)[^&\s]*/gi, '$1***');
}

/** Masks `message`, and `url`'s password as written and decoded, so a driver message quoting either is scrubbed. */
function scrub(message: string, url: string): string {
  const passwords = new Set<string>();
  const raw = /^[a-z][a-z0-9+.-]*:\/\/[^:@/]*:([^\s]*)@/i.exec(url)?.[1];
  const param = /[?&]password=([^&\s]*)/i.exec(url)?.[1];
  for (const p of [raw, param]) {
    if (!p) continue;
    passwords.add(p);
    try {
      passwords.add(decodeURIComponent(p));
    } catch {
      // Not valid percent-encoding: the raw form is all there is.
    }
  }
  let out = maskDatabaseUrl(message);
  for (const p of passwords) out = out.replaceAll(p, '***');
  return out;
}

/**
 * The store on the database DATABASE_URL selects, not yet migrated (`openSettingsStore` migrates it).
 *
 * @example const store = await createSettingsStore('postgres://app@db/site', { schema: 'site_a' });
 */
export async function createSettingsStore(databaseUrl?: string, opts: OpenSettingsStoreOptions = {}): Promise<SettingsStore> {
  const target = parseDatabaseUrl(databaseUrl);
  if (target.backend === 'sqlite') {
    const db = openSqlite<SettingsTables>(target.path);
    return new SqlSettingsStore(db, sqliteSettingsDialect(target.path), opts.log, target.path);
  }
  // pg is loaded only for Postgres: the CLI, which imports this file's URL helpers, never pays for it.
  const { db, dialect } = (await import('./postgres-settings-dialect.js')).openPostgresSettings(target.url, opts);
  return new SqlSettingsStore(db, dialect, opts.log);
}

/**
 * Opens and migrates the template site's store selected by DATABASE_URL: SQLite by default,
 * Postgres for `postgres://`. Errors say which database failed and why, never with its password.
 *
 * @example const store = await openSettingsStore(process.env.DATABASE_URL, { log: (m) => logger.warn(m) });
 */
export async function openSettingsStore(databaseUrl?: string, opts: OpenSettingsStoreOptions = {}): Promise<SettingsStore> {
  const target = parseDatabaseUrl(databaseUrl);
  const where =
    target.backend === 'sqlite' ? `SQLite database ${target.path}` : `Postgres database ${maskDatabaseUrl(target.url)}`;
  let store: SettingsStore | undefined;
  try {
    store = await createSettingsStore(databaseUrl, opts);
    await store.migrate();
    return store;
  } catch (err) {
    await store?.close().catch(() => undefined);
    const { message, code } = err as Error & { code?: unknown };
    const text = scrub(`Could not open the ${where}: ${message}`, databaseUrl ?? '');
    throw new SettingsStoreOpenError(text, 'database_unavailable', typeof code === 'string' ? code : undefined);
  }
}
