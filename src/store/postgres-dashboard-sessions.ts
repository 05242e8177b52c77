import type { DashboardSessionStore, StoredSession } from './dashboard-sessions.js';
import type { PgQuery } from './postgres-db.js';

const COLUMNS = 'id_hash, actor, address, created_at, expires_at, last_seen_at';

/**
 * `dashboard_sessions` on Postgres (see dashboard-sessions.ts): every dashboard sharing the database
 * sees a login or a logout made by another at once, since each lookup reads the table.
 */
export class PostgresDashboardSessions implements DashboardSessionStore {
  constructor(private readonly db: PgQuery) {}

  async create(s: StoredSession): Promise<void> {
    await this.db.run(`INSERT INTO dashboard_sessions (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [
      s.id_hash,
      s.actor,
      s.address,
      s.created_at,
      s.expires_at,
      s.last_seen_at,
    ]);
  }

  find(idHash: string): Promise<StoredSession | undefined> {
    return this.db.one<StoredSession>(`SELECT ${COLUMNS} FROM dashboard_sessions WHERE id_hash = $1`, [
      idHash,
    ]);
  }

  async touch(idHash: string, at: string): Promise<void> {
    await this.db.run(
      'UPDATE dashboard_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2',
      [idHash, at],
    );
  }

  async delete(idHash: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM dashboard_sessions WHERE id_hash = $1', [idHash])) === 1;
  }

  deleteExpired(now: string): Promise<number> {
    return this.db.run('DELETE FROM dashboard_sessions WHERE expires_at <= $1', [now]);
  }
}
