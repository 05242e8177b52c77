import type { SecretBox } from '../keys/secret-box.js';
import type { VaultSetting } from './state-store.js';

/**
 * Backend-neutral rules of the key vault (key versions sealed with the vault key). The stores keep
 * the rows; this file says what a version's identity is and how a wrong vault key is reported.
 */

export const VAULT_SETTINGS: readonly VaultSetting[] = [
  'stripe_publishable_key',
  'stripe_secret_key',
  'stripe_webhook_secret',
  'stripe_price_id',
];

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
export function fingerprintSet(fingerprints: Record<string, string>): string {
  return Object.keys(fingerprints)
    .sort()
    .map((setting) => `${setting}=${fingerprints[setting]}`)
    .join(',');
}

/** Rejects an empty save and names outside the vault's settings, before anything is sealed. */
export function vaultEntries(values: Partial<Record<VaultSetting, string>>): Array<[VaultSetting, string]> {
  const entries = Object.entries(values).filter(([, v]) => v !== undefined) as Array<[VaultSetting, string]>;
  for (const [setting, value] of entries) {
    if (!VAULT_SETTINGS.includes(setting)) {
      throw new Error(`Unknown setting "${setting}": the vault holds ${VAULT_SETTINGS.join(', ')}.`);
    }
    if (typeof value !== 'string' || value === '') throw new Error(`Empty value for ${setting}.`);
  }
  if (entries.length === 0) throw new Error('A key version needs at least one value.');
  return entries;
}
