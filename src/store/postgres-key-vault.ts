import { maskedKey } from '../keys/masked-key.js';
import { fingerprint } from '../protocol/fingerprint.js';
import type { PgDb } from './postgres-db.js';
import type { KeyVersion, MaskedKey, VaultSetting } from './state-store.js';
import { fingerprintSet, openSealed, vaultEntries, type VaultKeyProvider } from './vault.js';

interface ValueRow {
  version_id: string;
  setting: string;
  fingerprint: string;
  last4: string;
  mode: 'test' | 'live' | null;
  prefix: string;
}

const toMasked = (row: ValueRow): MaskedKey => ({
  last4: row.last4,
  fingerprint: row.fingerprint,
  mode: row.mode,
  prefix: row.prefix,
});

/**
 * The key vault's half of the Postgres state store, the same rules as sqlite-key-vault.ts: one
 * sealed value per setting per version, versions numbered v1, v2, … (an advisory lock serialises
 * dashboards saving at once), the same set of keys saved twice is the same version.
 */
export class PostgresKeyVault {
  constructor(
    private readonly db: PgDb,
    private readonly vault: VaultKeyProvider,
  ) {}

  async save(
    values: Partial<Record<VaultSetting, string>>,
    createdBy: string,
  ): Promise<{ id: string; keys: Record<string, MaskedKey>; created_at: string }> {
    const entries = vaultEntries(values);
    const keys: Record<string, MaskedKey> = {};
    for (const [setting, value] of entries) keys[setting] = maskedKey(value);
    const identity = fingerprintSet(
      Object.fromEntries(entries.map(([s]) => [s, keys[s]?.fingerprint ?? ''])),
    );
    // Sealing with a key that cannot open what is already there would split the vault between two keys.
    const any = await this.db.one<{ sealed: string }>('SELECT sealed FROM key_version_values LIMIT 1');
    if (any) openSealed(this.vault, any.sealed);
    else this.vault.box();
    const sealed = entries.map(([setting, value]) => [setting, this.vault.box().seal(value)] as const);
    return this.db.tx(async (q) => {
      await q.run('SELECT pg_advisory_xact_lock(hashtext($1))', [`keyfleet.vault:${this.db.schema}`]);
      const existing = await q.one<{ id: string; created_at: string }>(
        'SELECT id, created_at FROM key_versions WHERE fingerprint_set = $1',
        [identity],
      );
      if (existing) return { ...existing, keys: await this.keysOf(existing.id, q) };
      const { n } = (await q.one<{ n: number }>(
        'SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM key_versions',
      )) ?? { n: 1 };
      const id = `v${n}`;
      const createdAt = new Date().toISOString();
      await q.run(
        'INSERT INTO key_versions (id, seq, fingerprint_set, created_at, created_by) VALUES ($1, $2, $3, $4, $5)',
        [id, n, identity, createdAt, createdBy],
      );
      for (const [setting, box] of sealed) {
        const k = keys[setting] as MaskedKey;
        await q.run(
          `INSERT INTO key_version_values (version_id, setting, fingerprint, last4, mode, prefix, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [id, setting, k.fingerprint, k.last4, k.mode, k.prefix ?? '', box],
        );
      }
      return { id, keys, created_at: createdAt };
    });
  }

  async secretByFingerprint(setting: string, fp: string): Promise<string | undefined> {
    const row = await this.db.one<{ sealed: string }>(
      'SELECT sealed FROM key_version_values WHERE setting = $1 AND fingerprint = $2 LIMIT 1',
      [setting, fp],
    );
    if (!row) return undefined;
    const value = openSealed(this.vault, row.sealed);
    if (fingerprint(value) !== fp)
      throw new Error(`The vault's ${setting} entry for ${fp} does not match its fingerprint.`);
    return value;
  }

  async list(): Promise<KeyVersion[]> {
    const versions = await this.db.rows<Omit<KeyVersion, 'keys'>>(
      'SELECT id, created_at, created_by FROM key_versions ORDER BY seq DESC',
    );
    const byVersion = new Map<string, Record<string, MaskedKey>>();
    for (const row of await this.db.rows<ValueRow>(
      'SELECT version_id, setting, fingerprint, last4, mode, prefix FROM key_version_values',
    )) {
      const keys = byVersion.get(row.version_id) ?? {};
      keys[row.setting] = toMasked(row);
      byVersion.set(row.version_id, keys);
    }
    return versions.map((v) => ({ ...v, keys: byVersion.get(v.id) ?? {} }));
  }

  private async keysOf(versionId: string, q: Pick<PgDb, 'rows'>): Promise<Record<string, MaskedKey>> {
    const rows = await q.rows<ValueRow>(
      'SELECT version_id, setting, fingerprint, last4, mode, prefix FROM key_version_values WHERE version_id = $1',
      [versionId],
    );
    return Object.fromEntries(rows.map((r) => [r.setting, toMasked(r)]));
  }
}
