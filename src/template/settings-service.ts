import { SecretBox } from '../keys/secret-box.js';
import { fingerprint } from '../protocol/fingerprint.js';
import type { KeyMode } from '../protocol/key-formats.js';
import type { ErrorCode } from '../protocol/error-catalog.js';
import { SETTINGS, isSettingName, type SettingName } from '../protocol/settings.js';
import type { KeyInfo } from '../protocol/bodies.js';
import type { SettingsSnapshotRows, SettingsStore } from '../store/settings-store.js';
import { FreshRead } from './fresh-read.js';
import { SettingsSnapshot, type EffectiveSetting, type StoredValue } from './settings-snapshot.js';

export type { EffectiveSetting } from './settings-snapshot.js';

export class StartupError extends Error {
  readonly code = 'startup_error';
}

/** An atomic write refused before anything was written: the catalog code and the setting at fault. */
export class AtomicWriteRefused extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly setting: SettingName,
    message: string,
  ) {
    super(message);
    this.name = 'AtomicWriteRefused';
  }
}

export interface SettingsServiceOptions {
  /**
   * Before serving a read, compare the store's generation with the cache's and reload when it moved
   * (one shared round trip per batch of concurrent reads), so a read on this instance right after a
   * write committed through another returns the new value. Off: reads serve the cache, which the
   * change notification refreshes within milliseconds.
   */
  readAfterWrite?: boolean;
  /**
   * How long a read waits for the read-after-write check before serving the cache (default 1000 ms):
   * a database that stops answering must not stall /api/stripe-pk.
   */
  checkTimeoutMs?: number;
  /** Where the encryption key came from, named when it does not decrypt (default TEMPLATE_ENCRYPTION_KEY). */
  keySource?: string;
}

/**
 * The site's view of its settings: what was pushed (database) wins over the environment, secrets
 * are sealed at rest when an encryption key is set, and the whole state is cached in memory as one
 * immutable snapshot (settings-snapshot.ts), replaced whole when the store's generation moves. The
 * store's change feed triggers the refresh, so several instances on one Postgres converge at once;
 * with `readAfterWrite` a read also checks the generation first.
 */
export class SettingsService {
  private snap: SettingsSnapshot;
  private readonly refresher: FreshRead<SettingsSnapshot>;
  private readonly checked: FreshRead<SettingsSnapshot>;
  private unsubscribe: (() => Promise<void>) | null = null;
  readonly readAfterWrite: boolean;
  private readonly keySource: string;
  private readonly checkTimeoutMs: number;

  constructor(
    readonly store: SettingsStore,
    private readonly env: Record<string, string | undefined>,
    private readonly box: SecretBox | null,
    options: SettingsServiceOptions = {},
  ) {
    this.snap = new SettingsSnapshot(-1, new Map(), env);
    this.refresher = new FreshRead(() => this.sync());
    // Reads share one bounded check at a time (one timer per check, not per request).
    this.checked = new FreshRead(() => bounded(this.sync(), this.checkTimeoutMs));
    this.readAfterWrite = options.readAfterWrite ?? false;
    this.keySource = options.keySource ?? 'TEMPLATE_ENCRYPTION_KEY';
    this.checkTimeoutMs = options.checkTimeoutMs ?? 1000;
  }

  /** Loads every row; refuses to start on secrets it cannot decrypt, seals plaintext secrets when it can. */
  async start(): Promise<void> {
    let base = await this.store.snapshot();
    let sealedAny = false;
    for (const row of base.rows) {
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
          `${this.keySource} does not decrypt the stored ${row.key} (wrong key?). ` +
            'Set TEMPLATE_ENCRYPTION_KEY to the key used when it was written; the stored values were left untouched.',
        );
      }
      if (!sealed && this.box && isSettingName(row.key) && SETTINGS[row.key].secret) {
        await this.store.put(row.key, this.box.seal(value), { fingerprint: fingerprint(value), actorIp: 'startup:encrypt' });
        sealedAny = true;
      }
    }
    if (sealedAny) base = await this.store.snapshot();
    this.install(this.build(base));
    this.unsubscribe = await this.store.subscribe(() => {
      // On a read error the last known snapshot stays: a blip must not blank the site.
      this.refresh().catch(() => undefined);
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** The cached snapshot, as of the last refresh (synchronous: the hot path without readAfterWrite). */
  current(): SettingsSnapshot {
    return this.snap;
  }

  /**
   * The snapshot a read should serve: with readAfterWrite, one at least as new as the store's
   * generation when this was called; if the store cannot be reached, the cached one (a database
   * blip must not blank the site; /api/health reports the database).
   */
  forRead(): Promise<SettingsSnapshot> {
    if (!this.readAfterWrite) return Promise.resolve(this.snap);
    return this.checked.run().catch(() => this.snap);
  }

  /** Refreshes from the store with a read started after this call (shared with concurrent callers). */
  refresh(): Promise<SettingsSnapshot> {
    return this.refresher.run();
  }

  private async sync(): Promise<SettingsSnapshot> {
    const generation = await this.store.generation();
    if (generation !== this.snap.generation) this.install(this.build(await this.store.snapshot()));
    return this.snap;
  }

  /** Replaces the cache only with a newer state: reads that finish out of order never go back in time. */
  private install(next: SettingsSnapshot): void {
    if (next.generation > this.snap.generation) this.snap = next;
  }

  private build(base: SettingsSnapshotRows): SettingsSnapshot {
    const stored = new Map<string, StoredValue>();
    for (const row of base.rows) {
      try {
        const value = SecretBox.isSealed(row.value) && this.box ? this.box.open(row.value) : row.value;
        stored.set(row.key, { value, updatedAt: row.updated_at });
      } catch {
        // Never serve garbage; the next start reports the key problem.
      }
    }
    return new SettingsSnapshot(base.generation, stored, this.env);
  }

  /** The compact JSON of GET /api/stripe-pk from the cached snapshot. */
  publishableKeyBody(): string | null {
    return this.snap.pkBody;
  }

  get(name: SettingName): EffectiveSetting | null {
    return this.snap.get(name);
  }

  async put(name: SettingName, value: string, actorIp: string | null): Promise<void> {
    const stored = SETTINGS[name].secret && this.box ? this.box.seal(value) : value;
    await this.store.put(name, stored, { fingerprint: fingerprint(value), actorIp });
    await this.refresh();
  }

  /**
   * The atomic write (issue 10): `values` (names and formats already checked by the route) are
   * checked against the committed state under the store's write lock — a publishable and secret key
   * of different modes after the merge is refused — then written in one transaction. Returns the
   * snapshot as committed, already installed here; other instances get it whole via the notification.
   */
  async putAtomic(values: ReadonlyMap<SettingName, string>, actorIp: string | null): Promise<SettingsSnapshot> {
    let baseSnap: SettingsSnapshot | null = null;
    const commit = await this.store.writeAtomically((base) => {
      baseSnap = this.build(base);
      const merged = baseSnap.with(values, base.generation + 1, '');
      const touchesPair = values.has('stripe_publishable_key') || values.has('stripe_secret_key');
      const mixed = touchesPair ? merged.mixedPair() : null;
      if (mixed) {
        const setting: SettingName = values.has('stripe_publishable_key') ? 'stripe_publishable_key' : 'stripe_secret_key';
        throw new AtomicWriteRefused(
          'mixed_key_modes',
          setting,
          `The publishable key would be ${mixed.publishable} and the secret key ${mixed.secret}: ` +
            'send a matching pair (pk_test_ with sk_test_, or pk_live_ with sk_live_) in one request.',
        );
      }
      return [...values].map(([key, value]) => ({
        key,
        value: SETTINGS[key].secret && this.box ? this.box.seal(value) : value,
        fingerprint: fingerprint(value),
      }));
    }, actorIp);
    const committed = (baseSnap as SettingsSnapshot | null)!.with(values, commit.generation, commit.updatedAt);
    this.install(committed);
    return committed;
  }

  /** Raw rows that are not Stripe settings (the site's hashed credentials). */
  getRaw(key: string): string | undefined {
    return this.snap.getRaw(key);
  }

  async putRaw(key: string, value: string, fp: string | null, actorIp: string | null): Promise<void> {
    await this.store.put(key, value, { fingerprint: fp, actorIp });
    await this.refresh();
  }

  async deleteRaw(key: string, actorIp: string | null): Promise<void> {
    await this.store.delete(key, { fingerprint: null, actorIp });
    await this.refresh();
  }

  /** test/live of the site: the secret key's mode, else the publishable key's. */
  environment(): KeyMode | null {
    return this.snap.environment();
  }

  keyInfo(): Record<SettingName, KeyInfo | null> {
    return this.snap.keyInfo();
  }
}

/** `p`, or a rejection after `ms` (the caller then serves its cache); `p` itself runs on. */
function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the read-after-write check took more than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
