import { checkTags } from './fleet-records.js';
import type { AuditEntry, DesiredVersions, SafeToRoll } from './fleet-store.js';
import type { PgDb } from './postgres-db.js';
import { maskedJson } from './run-records.js';

interface AuditRow {
  seq: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail_json: string;
}

/**
 * Desired versions, the audit log and safe-to-roll records on Postgres, the same rules as
 * sqlite-fleet-ledger.ts.
 */
export class PostgresFleetLedger {
  constructor(private readonly db: PgDb) {}

  async desired(): Promise<DesiredVersions> {
    const out: DesiredVersions = { fleet: null, tags: {} };
    for (const row of await this.db.rows<{ scope: string; version_id: string }>(
      'SELECT scope, version_id FROM fleet_desired ORDER BY scope',
    )) {
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
      await this.db.run('DELETE FROM fleet_desired WHERE scope = $1', [key]);
    } else {
      if (!(await this.db.one('SELECT 1 FROM key_versions WHERE id = $1', [versionId])))
        throw new RangeError(`No key version ${versionId}.`);
      await this.db.run(
        `INSERT INTO fleet_desired (scope, version_id, updated_at, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (scope) DO UPDATE SET version_id = excluded.version_id, updated_at = excluded.updated_at,
           updated_by = excluded.updated_by`,
        [key, versionId, new Date().toISOString(), actor],
      );
    }
    return this.desired();
  }

  async audit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry> {
    const at = new Date().toISOString();
    const detail = maskedJson(entry.detail ?? {});
    const row = await this.db.one<{ seq: string }>(
      'INSERT INTO audit_log (at, actor, action, target, detail_json) VALUES ($1, $2, $3, $4, $5) RETURNING seq',
      [at, entry.actor, entry.action, entry.target, detail],
    );
    return {
      id: Number(row?.seq),
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
    const rows = await this.db.rows<AuditRow>('SELECT * FROM audit_log ORDER BY seq DESC LIMIT $1', [limit]);
    return rows.map((r) => ({
      id: Number(r.seq),
      at: r.at,
      actor: r.actor,
      action: r.action,
      target: r.target,
      detail: JSON.parse(r.detail_json),
    }));
  }

  async markSafeToRoll(record: SafeToRoll): Promise<SafeToRoll> {
    await this.db.run(
      'INSERT INTO key_safe_to_roll (version_id, verified_at, sites) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [record.version_id, record.verified_at, record.sites],
    );
    return (await this.db.one<SafeToRoll>('SELECT * FROM key_safe_to_roll WHERE version_id = $1', [
      record.version_id,
    ])) as SafeToRoll;
  }

  async safeToRoll(): Promise<SafeToRoll[]> {
    return this.db.rows<SafeToRoll>('SELECT * FROM key_safe_to_roll ORDER BY verified_at');
  }
}
