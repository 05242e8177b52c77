/**
 * The dashboard's admin sessions, kept in keyfleet's state database so they outlive a restart and
 * are shared by every dashboard on one Postgres: `StateStore.sessions`. The store is the truth; the
 * dashboard's SessionStore (auth/sessions.ts) decides expiry and derives the CSRF token.
 *
 * A session is known only by the SHA-256 of its id: the raw id (the cookie's value) never reaches
 * the database, so reading the table gives nobody a way in.
 *
 * @example
 *   await store.sessions.create({ id_hash, actor: 'admin', address: req.ip, created_at, expires_at, last_seen_at: created_at });
 *   const s = await store.sessions.find(id_hash);      // undefined after logout
 *   await store.sessions.deleteExpired(new Date().toISOString());
 */
export interface StoredSession {
  /** SHA-256 (hex) of the session id; never the id itself. */
  id_hash: string;
  /** Who logged in (`admin`), for the audit log. */
  actor: string;
  /** The address the login came from. */
  address: string | null;
  /** ISO-8601 UTC, like every timestamp of the state database. */
  created_at: string;
  expires_at: string;
  last_seen_at: string;
}

export interface DashboardSessionStore {
  /** Inserts a new session (its hash is new: 32 random bytes never repeat). */
  create(session: StoredSession): Promise<void>;
  /** The row, expired or not (the caller judges expiry with its own clock); undefined when unknown. */
  find(idHash: string): Promise<StoredSession | undefined>;
  /** Moves last_seen_at forward to `at` (never back). */
  touch(idHash: string, at: string): Promise<void>;
  /** Ends the session; true when it existed. */
  delete(idHash: string): Promise<boolean>;
  /** Deletes every session with `expires_at <= now`; returns how many. */
  deleteExpired(now: string): Promise<number>;
}
