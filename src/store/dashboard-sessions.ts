import type { Kysely } from 'kysely';
import type { DashboardSessionsTable, StateTables } from './sql/tables.js';

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
/** A session row: `id_hash` is the SHA-256 (hex) of the session id, never the id; times are ISO-8601 UTC. */
export type StoredSession = DashboardSessionsTable;

/** Every dashboard sharing a Postgres sees a login or logout made by another at once: each lookup reads the table. */
export class DashboardSessionStore {
  constructor(private readonly k: Kysely<StateTables>) {}

  /** Inserts a new session (its hash is new: 32 random bytes never repeat). */
  async create({ id_hash, actor, address, created_at, expires_at, last_seen_at }: StoredSession): Promise<void> {
    await this.k.insertInto('dashboard_sessions').values({ id_hash, actor, address, created_at, expires_at, last_seen_at }).execute();
  }

  /** The row, expired or not (the caller judges expiry with its own clock); undefined when unknown. */
  find(idHash: string): Promise<StoredSession | undefined> {
    return this.k.selectFrom('dashboard_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
  }

  /** Moves last_seen_at forward to `at` (never back). */
  async touch(idHash: string, at: string): Promise<void> {
    await this.k.updateTable('dashboard_sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash)
      .where('last_seen_at', '<', at).execute();
  }

  /** Ends the session; true when it existed. */
  async delete(idHash: string): Promise<boolean> {
    const r = await this.k.deleteFrom('dashboard_sessions').where('id_hash', '=', idHash).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  /** Deletes every session with `expires_at <= now`; returns how many. */
  async deleteExpired(now: string): Promise<number> {
    const r = await this.k.deleteFrom('dashboard_sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
