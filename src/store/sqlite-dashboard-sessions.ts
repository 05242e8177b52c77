import type Database from 'better-sqlite3';
import type { DashboardSessionStore, StoredSession } from './dashboard-sessions.js';

const COLUMNS = 'id_hash, actor, address, created_at, expires_at, last_seen_at';

/** `dashboard_sessions` on the SQLite state file (see dashboard-sessions.ts). */
export class SqliteDashboardSessions implements DashboardSessionStore {
  constructor(private readonly stmt: (sql: string) => Database.Statement) {}

  async create(s: StoredSession): Promise<void> {
    this.stmt(
      `INSERT INTO dashboard_sessions (${COLUMNS})
       VALUES (@id_hash, @actor, @address, @created_at, @expires_at, @last_seen_at)`,
    ).run(s);
  }

  async find(idHash: string): Promise<StoredSession | undefined> {
    const sql = `SELECT ${COLUMNS} FROM dashboard_sessions WHERE id_hash = ?`;
    return this.stmt(sql).get(idHash) as StoredSession | undefined;
  }

  async touch(idHash: string, at: string): Promise<void> {
    this.stmt('UPDATE dashboard_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?').run(
      at,
      idHash,
      at,
    );
  }

  async delete(idHash: string): Promise<boolean> {
    return this.stmt('DELETE FROM dashboard_sessions WHERE id_hash = ?').run(idHash).changes === 1;
  }

  async deleteExpired(now: string): Promise<number> {
    return this.stmt('DELETE FROM dashboard_sessions WHERE expires_at <= ?').run(now).changes;
  }
}
