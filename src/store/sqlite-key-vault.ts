import type Database from 'better-sqlite3';
import { maskedKey } from '../keys/masked-key.js';
import { fingerprint } from '../protocol/fingerprint.js';
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

/**
 * The key vault's half of the SQLite state store: key versions in `key_versions`, one sealed value per
 * setting in `key_version_values`. Only `sealed` holds a value, encrypted with the vault key; the
 * fingerprint column is what rollback looks a secret up by.
 */
export class SqliteKeyVault {
  constructor(
    private readonly db: Database.Database,
    private readonly vault: VaultKeyProvider,
    private readonly stmt: (sql: string) => Database.Statement,
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
    this.checkKey();
    const existing = this.byIdentity(identity);
    if (existing) return { ...existing, keys: this.keysOf(existing.id) };

    const sealed = entries.map(([setting, value]) => [setting, this.vault.box().seal(value)] as const);
    const insertVersion = this.stmt(
      `INSERT INTO key_versions (id, seq, fingerprint_set, created_at, created_by) VALUES (?, ?, ?, ?, ?)`,
    );
    const insertValue = this.stmt(
      `INSERT INTO key_version_values (version_id, setting, fingerprint, last4, mode, prefix, sealed)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    return this.db
      .transaction(() => {
        // Checked again under the write lock: another process may have saved the same keys meanwhile.
        const raced = this.byIdentity(identity);
        if (raced) return { ...raced, keys: this.keysOf(raced.id) };
        const { n } = this.stmt('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM key_versions').get() as {
          n: number;
        };
        const id = `v${n}`;
        const createdAt = new Date().toISOString();
        insertVersion.run(id, n, identity, createdAt, createdBy);
        for (const [setting, box] of sealed) {
          const k = keys[setting] as MaskedKey;
          insertValue.run(id, setting, k.fingerprint, k.last4, k.mode, k.prefix ?? '', box);
        }
        return { id, keys, created_at: createdAt };
      })
      .immediate();
  }

  async secretByFingerprint(setting: string, fp: string): Promise<string | undefined> {
    const row = this.stmt(
      'SELECT sealed FROM key_version_values WHERE setting = ? AND fingerprint = ? LIMIT 1',
    ).get(setting, fp) as { sealed: string } | undefined;
    if (!row) return undefined;
    const value = openSealed(this.vault, row.sealed);
    // GCM already authenticates; this catches a row whose fingerprint column was edited by hand.
    if (fingerprint(value) !== fp)
      throw new Error(`The vault's ${setting} entry for ${fp} does not match its fingerprint.`);
    return value;
  }

  async list(): Promise<KeyVersion[]> {
    const versions = this.stmt(
      'SELECT id, created_at, created_by FROM key_versions ORDER BY seq DESC',
    ).all() as Array<Omit<KeyVersion, 'keys'>>;
    const byVersion = new Map<string, Record<string, MaskedKey>>();
    for (const row of this.stmt('SELECT * FROM key_version_values').all() as ValueRow[]) {
      const keys = byVersion.get(row.version_id) ?? {};
      keys[row.setting] = toMasked(row);
      byVersion.set(row.version_id, keys);
    }
    return versions.map((v) => ({ ...v, keys: byVersion.get(v.id) ?? {} }));
  }

  /** Opens one stored value (any will do: they all share one key); throws VaultKeyError on a wrong key. */
  private checkKey(): void {
    const row = this.stmt('SELECT sealed FROM key_version_values LIMIT 1').get() as
      { sealed: string } | undefined;
    if (row) openSealed(this.vault, row.sealed);
    else this.vault.box(); // an empty vault still needs a usable key before anything is sealed
  }

  private byIdentity(identity: string): { id: string; created_at: string } | undefined {
    return this.stmt('SELECT id, created_at FROM key_versions WHERE fingerprint_set = ?').get(identity) as
      { id: string; created_at: string } | undefined;
  }

  private keysOf(versionId: string): Record<string, MaskedKey> {
    const rows = this.stmt('SELECT * FROM key_version_values WHERE version_id = ?').all(
      versionId,
    ) as ValueRow[];
    return Object.fromEntries(rows.map((r) => [r.setting, toMasked(r)]));
  }
}

function toMasked(row: ValueRow): MaskedKey {
  return { last4: row.last4, fingerprint: row.fingerprint, mode: row.mode, prefix: row.prefix };
}
