import type Database from 'better-sqlite3';
import { checkTags } from './fleet-records.js';
import type { AuditEntry, DesiredVersions, SafeToRoll } from './fleet-store.js';
import { maskedJson } from './run-records.js';

type Stmt = (sql: string) => Database.Statement;

interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail_json: string;
}

/**
 * The fleet's records that are not sites, on SQLite: desired versions (`fleet_desired`), the
 * append-only audit log and the safe-to-roll record of each key version.
 */
export class SqliteFleetLedger {
  constructor(
    private readonly db: Database.Database,
    private readonly stmt: Stmt,
  ) {}

  async desired(): Promise<DesiredVersions> {
    const out: DesiredVersions = { fleet: null, tags: {} };
    for (const row of this.stmt('SELECT scope, version_id FROM fleet_desired ORDER BY scope').all() as Array<{
      scope: string;
      version_id: string;
    }>) {
      if (row.scope === 'fleet') out.fleet = row.version_id;
      else if (row.scope.startsWith('tag:')) out.tags[row.scope.slice(4)] = row.version_id;
    }
    return out;
  }

  async setDesired(
    scope: { tag?: string },
    versionId: string | null,
    actor: string,
  ): Promise<DesiredVersions> {
    const key = scope.tag === undefined ? 'fleet' : `tag:${checkTags([scope.tag])[0]}`;
    if (versionId === null) {
      if (key === 'fleet')
        throw new RangeError('The fleet default cannot be removed, only replaced by another version.');
      this.stmt('DELETE FROM fleet_desired WHERE scope = ?').run(key);
    } else {
      if (!this.stmt('SELECT 1 FROM key_versions WHERE id = ?').get(versionId))
        throw new RangeError(`No key version ${versionId}.`);
      this.stmt(
        `INSERT INTO fleet_desired (scope, version_id, updated_at, updated_by) VALUES (?, ?, ?, ?)
         ON CONFLICT (scope) DO UPDATE SET version_id = excluded.version_id, updated_at = excluded.updated_at,
           updated_by = excluded.updated_by`,
      ).run(key, versionId, new Date().toISOString(), actor);
    }
    return this.desired();
  }

  async audit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry> {
    const at = new Date().toISOString();
    const detail = maskedJson(entry.detail ?? {});
    const { lastInsertRowid } = this.stmt(
      'INSERT INTO audit_log (at, actor, action, target, detail_json) VALUES (?, ?, ?, ?, ?)',
    ).run(at, entry.actor, entry.action, entry.target, detail);
    return {
      id: Number(lastInsertRowid),
      at,
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      detail: JSON.parse(detail),
    };
  }

  async listAudit(opts: { limit?: number } = {}): Promise<AuditEntry[]> {
    const limit = opts.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer (got ${limit}).`);
    const rows = this.stmt('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?').all(limit) as AuditRow[];
    return rows.map((r) => ({
      id: r.seq,
      at: r.at,
      actor: r.actor,
      action: r.action,
      target: r.target,
      detail: JSON.parse(r.detail_json),
    }));
  }

  async markSafeToRoll(record: SafeToRoll): Promise<SafeToRoll> {
    return this.db
      .transaction(() => {
        this.stmt(
          'INSERT INTO key_safe_to_roll (version_id, verified_at, sites) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        ).run(record.version_id, record.verified_at, record.sites);
        return this.stmt('SELECT * FROM key_safe_to_roll WHERE version_id = ?').get(
          record.version_id,
        ) as SafeToRoll;
      })
      .immediate();
  }

  async safeToRoll(): Promise<SafeToRoll[]> {
    return this.stmt('SELECT * FROM key_safe_to_roll ORDER BY verified_at').all() as SafeToRoll[];
  }
}
