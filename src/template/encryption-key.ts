import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../keys/secret-box.js';
import type { SettingsStore } from '../store/settings-store.js';
import { ConfigError, type TemplateConfig } from './config.js';

/** Where the key file of a SQLite database lives when TEMPLATE_ENCRYPTION_KEY is not set: next to it. */
export function keyFilePath(dbPath: string): string {
  return `${dbPath}.key`;
}

export interface EncryptionChoice {
  box: SecretBox | null;
  /** Where the key came from, for the operator's log line. */
  source: 'TEMPLATE_ENCRYPTION_KEY' | 'key file' | 'none';
}

/**
 * How the site's secrets are sealed at rest (issue 12): TEMPLATE_ENCRYPTION_KEY when set; else,
 * on SQLite, a key file next to the database (`<db>.key`, 0600, created on first start like the
 * dashboard's vault.key). On Postgres there is no file every instance shares, so without the
 * variable secrets stay in clear and the site says so loudly at every start.
 *
 * A database that already holds sealed secrets but has no key file is not given a new key: the
 * settings service then refuses to start, asking for the key they were written with.
 */
export async function chooseEncryption(config: TemplateConfig, store: SettingsStore, warn: (msg: string) => void): Promise<EncryptionChoice> {
  if (config.encryptionKey) {
    return { box: SecretBox.fromBase64(config.encryptionKey, 'TEMPLATE_ENCRYPTION_KEY'), source: 'TEMPLATE_ENCRYPTION_KEY' };
  }
  const dbPath = store.backend === 'sqlite' ? (store as SettingsStore & { path?: string }).path : undefined;
  if (!dbPath || dbPath === ':memory:') {
    warn(
      'SECRETS ARE STORED IN CLEAR TEXT: TEMPLATE_ENCRYPTION_KEY is not set and this database has no key file ' +
        `(${store.backend === 'postgres' ? 'Postgres' : 'in-memory SQLite'}). Set TEMPLATE_ENCRYPTION_KEY ` +
        '(openssl rand -base64 32), the same on every instance sharing the database, and restart: stored secrets are sealed then.',
    );
    return { box: null, source: 'none' };
  }
  const file = keyFilePath(dbPath);
  let exists = true;
  try {
    statSync(file);
  } catch {
    exists = false;
  }
  if (!exists) {
    if ((await store.getAll()).some((row) => SecretBox.isSealed(row.value))) return { box: null, source: 'none' };
    try {
      writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      warn(
        `created the encryption key ${file} (mode 0600) for the secrets in ${dbPath}. Back it up with the database: ` +
          'without it the stored secrets cannot be decrypted (or set TEMPLATE_ENCRYPTION_KEY instead).',
      );
    } catch (err) {
      // Two first starts at once: the other one wrote it; use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } else if (statSync(file).mode & 0o077) {
    warn(`the encryption key ${file} is readable by other users: chmod 600 ${file}`);
  }
  try {
    return { box: SecretBox.fromBase64(readFileSync(file, 'utf8').trim(), `the key file ${file}`), source: 'key file' };
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} Restore the key file from a backup, or set TEMPLATE_ENCRYPTION_KEY.`);
  }
}
