import { fingerprint, last4 } from '../protocol/fingerprint.js';
import { keyMode, type KeyMode } from '../protocol/key-formats.js';
import { SETTINGS, SETTING_NAMES, type SettingName } from '../protocol/settings.js';
import type { KeyInfo } from '../protocol/bodies.js';

export interface EffectiveSetting {
  value: string;
  source: 'settings' | 'env';
  updatedAt: string | null;
  /** A pushed value hides a different value in the environment variable. */
  shadowsEnv: boolean;
}

export interface StoredValue {
  value: string;
  updatedAt: string;
}

/**
 * One committed state of a site's settings, decrypted, immutable. Every reader (GET /api/stripe-pk,
 * checkout, the key view) takes one snapshot and reads everything from it, so an atomic write is
 * seen whole or not at all: never a publishable key from one state with a secret key from another.
 */
export class SettingsSnapshot {
  /** The compact JSON of GET /api/stripe-pk, serialized once per snapshot (the hot path). */
  readonly pkBody: string | null;

  constructor(
    /** The store's generation this state was read at (or committed as). */
    readonly generation: number,
    private readonly stored: ReadonlyMap<string, StoredValue>,
    private readonly env: Record<string, string | undefined>,
  ) {
    const pk = this.get('stripe_publishable_key');
    this.pkBody = pk ? JSON.stringify({ success: true, publishable_key: pk.value }) : null;
  }

  /** This snapshot with `values` written at `updatedAt` as generation `generation`. */
  with(values: ReadonlyMap<string, string>, generation: number, updatedAt: string): SettingsSnapshot {
    const next = new Map(this.stored);
    for (const [key, value] of values) next.set(key, { value, updatedAt });
    return new SettingsSnapshot(generation, next, this.env);
  }

  get(name: SettingName): EffectiveSetting | null {
    const envValue = this.env[SETTINGS[name].envVar] || undefined;
    const row = this.stored.get(name);
    if (row) return { value: row.value, source: 'settings', updatedAt: row.updatedAt, shadowsEnv: !!envValue && envValue !== row.value };
    return envValue ? { value: envValue, source: 'env', updatedAt: null, shadowsEnv: false } : null;
  }

  /** Raw rows that are not Stripe settings (the site's hashed credentials). */
  getRaw(key: string): string | undefined {
    return this.stored.get(key)?.value;
  }

  /** test/live of the site: the secret key's mode, else the publishable key's. */
  environment(): KeyMode | null {
    return keyMode(this.get('stripe_secret_key')?.value) ?? keyMode(this.get('stripe_publishable_key')?.value);
  }

  /** The publishable and secret keys' modes when they differ (a mixed test/live pair), else null. */
  mixedPair(): { publishable: KeyMode; secret: KeyMode } | null {
    const publishable = keyMode(this.get('stripe_publishable_key')?.value);
    const secret = keyMode(this.get('stripe_secret_key')?.value);
    return publishable && secret && publishable !== secret ? { publishable, secret } : null;
  }

  keyInfo(): Record<SettingName, KeyInfo | null> {
    const out = {} as Record<SettingName, KeyInfo | null>;
    for (const name of SETTING_NAMES) {
      const s = this.get(name);
      out[name] = s
        ? {
            ...(SETTINGS[name].secret ? {} : { value: s.value }),
            fingerprint: fingerprint(s.value),
            last4: last4(s.value),
            mode: keyMode(s.value),
            source: s.source,
            shadows_env: s.shadowsEnv,
            updated_at: s.updatedAt,
          }
        : null;
    }
    return out;
  }
}
