import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Creates `path` empty with mode 0600 (in a 0700 directory) before SQLite opens it (issue 12): SQLite
 * gives its -wal and -shm files the database file's mode, so the secrets' ciphertexts, sessions and
 * audit log are readable by their owner only, whatever the umask. A database made 0644 by an older
 * keyfleet is tightened to 0600 when its owner opens it. SQLite URIs and in-memory databases are left alone.
 */
export function ensurePrivateFile(path: string): void {
  if (path === ':memory:' || path === '' || path.startsWith('file:')) return;
  mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) {
    try {
      closeSync(openSync(path, 'wx', 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      const st = statSync(file);
      if (st.mode & 0o077 && st.uid === process.getuid?.()) chmodSync(file, 0o600);
    } catch {
      // not there (yet), or not ours to change
    }
  }
}
