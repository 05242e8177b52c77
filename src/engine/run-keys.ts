import type { SettingName } from '../protocol/settings.js';
import type { MaskedKey, StateStore } from '../store/state-store.js';
import type { DesiredKeys } from './site-state.js';

/** A run or key version names a value the vault has no copy of (it was never saved by keyfleet). */
export class KeyNotInVaultError extends Error {
  readonly code = 'secret_not_in_vault';
  constructor(
    readonly setting: string,
    readonly last4: string,
  ) {
    super(`The vault has no copy of ${setting} …${last4}.`);
  }
}

/**
 * The values behind masked keys (a run's `keys`, a key version's `keys`), opened from the vault:
 * what a resumed run, a dashboard run or a confirmed preview pushes. The CLI's `push --resume` and
 * the dashboard both take their keys from here.
 *
 * @example const desired = await keysFromVault(state, run.keys); // { stripe_secret_key: 'sk_…', … }
 */
export async function keysFromVault(
  state: StateStore,
  keys: Record<string, MaskedKey>,
): Promise<DesiredKeys> {
  const out: DesiredKeys = {};
  for (const [name, k] of Object.entries(keys)) {
    const value = await state.secretByFingerprint(name, k.fingerprint);
    if (!value) throw new KeyNotInVaultError(name, k.last4);
    out[name as SettingName] = value;
  }
  return out;
}
