import { SecretBox } from '../keys/secret-box.js';
import { fingerprint, last4 } from '../protocol/fingerprint.js';
import { keyMode, type KeyMode } from '../protocol/key-formats.js';
import { SETTINGS, SETTING_NAMES, isSettingName, type SettingName } from '../protocol/settings.js';
import type { KeyInfo } from '../protocol/bodies.js';
import type { SettingsStore } from '../store/settings-store.js';

export interface EffectiveSetting {
  value: string;
  source: 'settings' | 'env';
  updatedAt: string | null;
  /** A pushed value hides a different value in the environment variable. */
  shadowsEnv: boolean;
}

export class StartupError extends Error {
  readonly code = 'startup_error';
}

/**
 * The site's view of its settings: what was pushed (database) wins over the environment, secrets
 * are sealed at rest when an encryption key is set, and every value is cached in memory. The cache
 * is refreshed from the store's change feed, so several instances on one Postgres agree at once.
 */
export class SettingsService {
  private readonly stored = new Map<string, { value: string; updatedAt: string }>();
  private readonly readSeq = new Map<string, number>();
  private readonly appliedSeq = new Map<string, number>();
  private readonly latestRead = new Map<string, Promise<void>>();
  private pkBody: string | null = null;
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(
    readonly store: SettingsStore,
    private readonly env: Record<string, string | undefined>,
    private readonly box: SecretBox | null,
  ) {}

  /** Loads every row; refuses to start on secrets it cannot decrypt, seals plaintext secrets when it can. */
  async start(): Promise<void> {
    for (const row of await this.store.getAll()) {
      const sealed = SecretBox.isSealed(row.value);
      if (sealed && !this.box) {
        throw new StartupError(
          `The database holds encrypted secrets (${row.key}) but TEMPLATE_ENCRYPTION_KEY is not set. ` +
            'Set it to the key used when they were written.',
        );
      }
      let value: string;
      try {
        value = sealed && this.box ? this.box.open(row.value) : row.value;
      } catch {
        throw new StartupError(
          `TEMPLATE_ENCRYPTION_KEY does not decrypt the stored ${row.key} (wrong key?). ` +
            'Set the key used when it was written; the stored values were left untouched.',
        );
      }
      if (!sealed && this.box && isSettingName(row.key) && SETTINGS[row.key].secret) {
        await this.store.put(row.key, this.box.seal(value), { fingerprint: fingerprint(value), actorIp: 'startup:encrypt' });
      }
      this.stored.set(row.key, { value, updatedAt: row.updated_at });
    }
    this.refreshPkBody();
    this.unsubscribe = await this.store.subscribe((key) => {
      // On a read error the last known value stays: a blip must not blank the site.
      this.reload(key).catch(() => undefined);
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /**
   * Re-reads one key. Reads can finish out of order (a pool of connections), so only the most
   * recently started read for a key is applied: it began after every change seen so far. A caller
   * whose read was overtaken waits for the newer one, so when reload() returns the cache holds a
   * value read after the caller's own write.
   */
  private async reload(key: string): Promise<void> {
    const n = (this.readSeq.get(key) ?? 0) + 1;
    this.readSeq.set(key, n);
    const read = this.store.get(key).then((row) => {
      if (this.readSeq.get(key) === n) this.apply(key, row);
    });
    this.latestRead.set(key, read);
    await read;
    // Overtaken: wait until a read that started after ours has been applied (or has failed).
    while ((this.appliedSeq.get(key) ?? 0) < n) {
      const latest = this.latestRead.get(key);
      if (!latest || latest === read) break;
      await latest.catch(() => undefined);
      if (this.latestRead.get(key) === latest) break;
    }
  }

  private apply(key: string, row: { value: string; updated_at: string } | undefined): void {
    this.appliedSeq.set(key, this.readSeq.get(key) ?? 0);
    if (!row) this.stored.delete(key);
    else {
      try {
        const value = SecretBox.isSealed(row.value) && this.box ? this.box.open(row.value) : row.value;
        this.stored.set(key, { value, updatedAt: row.updated_at });
      } catch {
        this.stored.delete(key); // never serve garbage; the next start reports the key problem
      }
    }
    if (key === SETTINGS.stripe_publishable_key.name) this.refreshPkBody();
  }

  private refreshPkBody(): void {
    const pk = this.get('stripe_publishable_key');
    this.pkBody = pk ? JSON.stringify({ success: true, publishable_key: pk.value }) : null;
  }

  /** The compact JSON of GET /api/stripe-pk, serialized once per change (the hot path). */
  publishableKeyBody(): string | null {
    return this.pkBody;
  }

  get(name: SettingName): EffectiveSetting | null {
    const envValue = this.env[SETTINGS[name].envVar] || undefined;
    const row = this.stored.get(name);
    if (row) return { value: row.value, source: 'settings', updatedAt: row.updatedAt, shadowsEnv: !!envValue && envValue !== row.value };
    return envValue ? { value: envValue, source: 'env', updatedAt: null, shadowsEnv: false } : null;
  }

  async put(name: SettingName, value: string, actorIp: string | null): Promise<void> {
    const stored = SETTINGS[name].secret && this.box ? this.box.seal(value) : value;
    await this.store.put(name, stored, { fingerprint: fingerprint(value), actorIp });
    await this.reload(name);
  }

  /** Raw rows that are not Stripe settings (the site's hashed credentials). */
  getRaw(key: string): string | undefined {
    return this.stored.get(key)?.value;
  }

  async putRaw(key: string, value: string, fp: string | null, actorIp: string | null): Promise<void> {
    await this.store.put(key, value, { fingerprint: fp, actorIp });
    await this.reload(key);
  }

  async deleteRaw(key: string, actorIp: string | null): Promise<void> {
    await this.store.delete(key, { fingerprint: null, actorIp });
    await this.reload(key);
  }

  /** test/live of the site: the secret key's mode, else the publishable key's. */
  environment(): KeyMode | null {
    return keyMode(this.get('stripe_secret_key')?.value) ?? keyMode(this.get('stripe_publishable_key')?.value);
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
