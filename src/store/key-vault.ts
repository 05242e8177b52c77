import type { Kysely } from 'kysely';
import { maskedKey } from '../keys/masked-key.js';
import type { SecretBox } from '../keys/secret-box.js';
import { fingerprint } from '../protocol/fingerprint.js';
import type { StoreDb } from './sql/store-db.js';
import type { StateTables } from './sql/tables.js';
import type { KeyVersion, MaskedKey, SavedKeyVersion, VaultSetting } from './state-store.js';

const VAULT_SETTINGS: readonly VaultSetting[] = ['stripe_publishable_key', 'stripe_secret_key', 'stripe_webhook_secret', 'stripe_price_id'];

/**
 * The vault key, resolved only when a value is sealed or opened: commands that never touch the vault
 * (history) then neither need the key nor create a key file. `source` names where the key came from,
 * for error messages.
 */
export interface VaultKeyProvider {
  box(): SecretBox;
  readonly source: string;
}

/** Sealed values could not be opened: the vault key is not the one they were sealed with. */
export class VaultKeyError extends Error {
  readonly code = 'vault_key_mismatch';
  constructor(readonly source: string) {
    super(
      `The key vault cannot be decrypted with the vault key from ${source}: it is not the key the saved ` +
        'versions were sealed with. Use the original key (KEYFLEET_VAULT_KEY, or the vault.key file next to ' +
        'the database, from your backup). Without it, keyfleet cannot restore secrets it pushed before.',
    );
    this.name = 'VaultKeyError';
  }
}

/** Opens a sealed value, turning a failed authentication into a VaultKeyError (never garbage). */
export function openSealed(vault: VaultKeyProvider, sealed: string): string {
  const box = vault.box();
  try {
    return box.open(sealed);
  } catch {
    throw new VaultKeyError(vault.source);
  }
}

/**
 * A version's identity: its settings and fingerprints, sorted, as one string
 * (`stripe_price_id=…,stripe_secret_key=…`). Two saves of the same keys give the same string, which a
 * UNIQUE index turns into "return the existing version" even when two processes save at once.
 */
function fingerprintSet(fingerprints: Record<string, string>): string {
  return Object.keys(fingerprints).sort().map((setting) => `${setting}=${fingerprints[setting]}`).join(',');
}

/** Rejects an empty save and names outside the vault's settings, before anything is sealed. */
function vaultEntries(values: Partial<Record<VaultSetting, string>>): Array<[VaultSetting, string]> {
  const entries = Object.entries(values).filter(([, v]) => v !== undefined) as Array<[VaultSetting, string]>;
  for (const [setting, value] of entries) {
    if (!VAULT_SETTINGS.includes(setting)) throw new Error(`Unknown setting "${setting}": the vault holds ${VAULT_SETTINGS.join(', ')}.`);
    if (typeof value !== 'string' || value === '') throw new Error(`Empty value for ${setting}.`);
  }
  if (entries.length === 0) throw new Error('A key version needs at least one value.');
  return entries;
}

const VALUE_COLUMNS = ['version_id', 'setting', 'fingerprint', 'last4', 'mode', 'prefix'] as const;

type MaskedRow = { last4: string; fingerprint: string; mode: string | null; prefix: string };
const toMasked = ({ last4, fingerprint, mode, prefix }: MaskedRow): MaskedKey =>
  ({ last4, fingerprint, mode: mode as MaskedKey['mode'], prefix });

/**
 * The key vault's half of the state store: key versions in `key_versions` (v1, v2, …), one sealed
 * value per setting in `key_version_values`. Only `sealed` holds a value, encrypted with the vault
 * key; the fingerprint column is what rollback looks a secret up by. The same set of keys saved
 * twice is the same version.
 */
export class KeyVault {
  constructor(private readonly db: StoreDb<StateTables>, private readonly vault: VaultKeyProvider) {}

  async save(values: Partial<Record<VaultSetting, string>>, createdBy: string): Promise<SavedKeyVersion> {
    const entries = vaultEntries(values);
    const keys: Record<string, MaskedKey> = {};
    for (const [setting, value] of entries) keys[setting] = maskedKey(value);
    const identity = fingerprintSet(Object.fromEntries(entries.map(([s]) => [s, keys[s]?.fingerprint ?? ''])));
    // Sealing with a key that cannot open what is already there would split the vault between two keys.
    const any = await this.db.k.selectFrom('key_version_values').select('sealed').limit(1).executeTakeFirst();
    if (any) openSealed(this.vault, any.sealed);
    else this.vault.box(); // an empty vault still needs a usable key before anything is sealed
    const existing = await this.byIdentity(this.db.k, identity);
    if (existing) return existing;
    const sealed = entries.map(([setting, value]) => [setting, this.vault.box().seal(value)] as const);
    return this.db.tx(async (trx) => {
      await this.db.lock(trx, `keyfleet.vault:${this.db.schema ?? ''}`);
      // Checked again under the lock: another process may have saved the same keys meanwhile.
      const raced = await this.byIdentity(trx, identity);
      if (raced) return raced;
      const last = await trx.selectFrom('key_versions').select((eb) => eb.fn.max('seq').as('n')).executeTakeFirst();
      const n = Number(last?.n ?? 0) + 1;
      const id = `v${n}`;
      const createdAt = new Date().toISOString();
      await trx.insertInto('key_versions').values({ id, seq: n, fingerprint_set: identity, created_at: createdAt, created_by: createdBy }).execute();
      const rows = sealed.map(([setting, box]) => {
        const { fingerprint, last4, mode, prefix = '' } = keys[setting] as MaskedKey;
        return { version_id: id, setting, fingerprint, last4, mode, prefix, sealed: box };
      });
      await trx.insertInto('key_version_values').values(rows).execute();
      return { id, keys, created_at: createdAt };
    });
  }

  async secretByFingerprint(setting: string, fp: string): Promise<string | undefined> {
    const row = await this.db.k.selectFrom('key_version_values').select('sealed').where('setting', '=', setting)
      .where('fingerprint', '=', fp).limit(1).executeTakeFirst();
    if (!row) return undefined;
    const value = openSealed(this.vault, row.sealed);
    // GCM already authenticates; this catches a row whose fingerprint column was edited by hand.
    if (fingerprint(value) !== fp) throw new Error(`The vault's ${setting} entry for ${fp} does not match its fingerprint.`);
    return value;
  }

  async list(): Promise<KeyVersion[]> {
    const versions = await this.db.k.selectFrom('key_versions').select(['id', 'created_at', 'created_by']).orderBy('seq', 'desc').execute();
    const byVersion = new Map<string, Record<string, MaskedKey>>();
    for (const row of await this.db.k.selectFrom('key_version_values').select(VALUE_COLUMNS).execute()) {
      const keys = byVersion.get(row.version_id) ?? {};
      keys[row.setting] = toMasked(row);
      byVersion.set(row.version_id, keys);
    }
    return versions.map((v) => ({ ...v, keys: byVersion.get(v.id) ?? {} }));
  }

  private async byIdentity(q: Kysely<StateTables>, identity: string): Promise<SavedKeyVersion | undefined> {
    const v = await q.selectFrom('key_versions').select(['id', 'created_at']).where('fingerprint_set', '=', identity).executeTakeFirst();
    if (!v) return undefined;
    const rows = await q.selectFrom('key_version_values').select(VALUE_COLUMNS).where('version_id', '=', v.id).execute();
    return { ...v, keys: Object.fromEntries(rows.map((r) => [r.setting, toMasked(r)])) };
  }
}
