import { maskSecrets } from '../protocol/fingerprint.js';
import { checkTags } from './fleet-records.js';
import type { AuditEntry, DesiredVersions, FleetStore, SafeToRoll } from './fleet-store.js';
import type { StoreDb } from './sql/store-db.js';
import type { AuditLogTable, StateTables } from './sql/tables.js';
import type { Selectable } from 'kysely';

/**
 * The fleet's records that are not sites: desired versions (`fleet_desired`: scope `fleet` or
 * `tag:<name>`), the append-only audit log and the safe-to-roll record of each key version; the
 * base of SqlFleetStore, apart so that each file holds one concern.
 */
export class FleetLedger
  implements Pick<FleetStore, 'desired' | 'setDesired' | 'audit' | 'listAudit' | 'markSafeToRoll' | 'safeToRoll'>
{
  constructor(protected readonly db: StoreDb<StateTables>) {}

  async desired(): Promise<DesiredVersions> {
    const out: DesiredVersions = { fleet: null, tags: {} };
    const rows = await this.db.k.selectFrom('fleet_desired').select(['scope', 'version_id']).orderBy('scope').execute();
    for (const row of rows) {
      if (row.scope === 'fleet') out.fleet = row.version_id;
      else if (row.scope.startsWith('tag:')) out.tags[row.scope.slice(4)] = row.version_id;
    }
    return out;
  }

  async setDesired(scope: { tag?: string }, versionId: string | null, actor: string): Promise<DesiredVersions> {
    const key = scope.tag === undefined ? 'fleet' : `tag:${checkTags([scope.tag])[0]}`;
    if (versionId === null) {
      if (key === 'fleet') throw new RangeError('The fleet default cannot be removed, only replaced by another version.');
      await this.db.k.deleteFrom('fleet_desired').where('scope', '=', key).execute();
    } else {
      const version = await this.db.k.selectFrom('key_versions').select('id').where('id', '=', versionId).executeTakeFirst();
      if (!version) throw new RangeError(`No key version ${versionId}.`);
      const set = { version_id: versionId, updated_at: new Date().toISOString(), updated_by: actor };
      await this.db.k
        .insertInto('fleet_desired')
        .values({ scope: key, ...set }).onConflict((oc) => oc.column('scope').doUpdateSet(set)).execute();
    }
    return this.desired();
  }

  /** The detail is masked again before it is written: an audit entry never holds a value. */
  async audit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry> {
    const at = new Date().toISOString();
    const detail = maskSecrets(JSON.stringify(entry.detail ?? {}));
    const row = await this.db.k
      .insertInto('audit_log')
      .values({ at, actor: entry.actor, action: entry.action, target: entry.target, detail_json: detail })
      .returningAll()
      .executeTakeFirstOrThrow();
    return auditEntry(row);
  }

  async listAudit(opts: { limit?: number } = {}): Promise<AuditEntry[]> {
    const limit = opts.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer (got ${limit}).`);
    const rows = await this.db.k.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(limit).execute();
    return rows.map(auditEntry);
  }

  async markSafeToRoll(record: SafeToRoll): Promise<SafeToRoll> {
    return this.db.tx(async (trx) => {
      await trx
        .insertInto('key_safe_to_roll')
        .values({ version_id: record.version_id, verified_at: record.verified_at, sites: record.sites })
        .onConflict((oc) => oc.doNothing())
        .execute();
      return trx.selectFrom('key_safe_to_roll').selectAll().where('version_id', '=', record.version_id).executeTakeFirstOrThrow();
    });
  }

  async safeToRoll(): Promise<SafeToRoll[]> {
    return this.db.k.selectFrom('key_safe_to_roll').selectAll().orderBy('verified_at').execute();
  }
}

/** Postgres' BIGINT `seq` arrives as a string. */
function auditEntry(r: Selectable<AuditLogTable>): AuditEntry {
  return { id: Number(r.seq), at: r.at, actor: r.actor, action: r.action, target: r.target, detail: JSON.parse(r.detail_json) };
}
