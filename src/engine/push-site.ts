import { refuseRestrictedKey, SEED_CACHE_REASON, seedProve, seedWrite, seedWriteOrder } from './seed-protocol.js';
import type { ReadOptions, SiteClient } from './site-client.js';
import { SiteError } from './site-error.js';
import type { ProtocolChoice, ProtocolName } from './protocol-choice.js';
import type { PreflightOptions } from './protocol-task.js';
import { preflightSite as preflightInProtocol, protocolOfFailure } from './site-protocol.js';
import { changesNeeded, describeSettings, mismatches, snapshotOf, type DesiredKeys } from './site-state.js';
import type { HealthStripeBody } from '../protocol/bodies.js';
import type { SettingName } from '../protocol/settings.js';
import type { SiteResult, SiteSnapshot } from '../store/state-store.js';

/** One site of a run: where it is, the key that opens it, and what it should hold. */
export interface SiteTask {
  url: string;
  /** The site's own key (inventory `api_key_env`) or the shared TEMPLATE_MASTER_API_KEY. */
  apiKey: string | null;
  desired: DesiredKeys;
  /** Inventory `protocol` or `--protocol`; default `auto`: detected at preflight (issue 9). */
  protocol?: ProtocolChoice;
  /** What an earlier run detected (state migration 6): tried first when `auto`. */
  protocolHint?: ProtocolName;
  /** `--read-back`: after an atomic write, read the key view again instead of trusting its answer. */
  readBack?: boolean;
  /**
   * A rollback's secrets that cannot be put back (a seed site never revealed them and keyfleet never
   * pushed them): the rest is restored, then the site ends `seed_secret_not_restorable`.
   */
  unrestorable?: SettingName[];
}

/** A site's result plus the settings that were (or, in a dry run, would be) written. */
export interface SiteOutcome extends SiteResult {
  changes: SettingName[];
}

/** Accumulates attempts and time over the several calls a site needs. */
class Tally {
  attempts = 0;
  private readonly started = performance.now();
  add<T>(r: { value: T; attempts: number }): T {
    this.attempts += r.attempts;
    return r.value;
  }
  get ms(): number {
    return Math.round(performance.now() - this.started);
  }
}

/** The site's authenticated key view; refuses a site that does not authenticate the key. */
export async function readSite(client: SiteClient, task: SiteTask, tally: Tally, opts?: ReadOptions): Promise<HealthStripeBody> {
  if (!task.apiKey) throw new SiteError({ code: 'no_api_key', url: task.url, attempts: 0 });
  const health = tally.add(await client.getStripeHealth(task.url, task.apiKey, opts));
  if (health.authenticated !== true || !health.keys) {
    throw new SiteError({ code: 'unexpected_response', url: task.url, detail: 'the site did not return its authenticated key view', attempts: 0 });
  }
  return health;
}

/**
 * Preflight (site-protocol.ts): proves the site is reachable and accepts the key, detects its
 * protocol, and tells what it holds now (the `before` snapshot a rollback restores).
 */
export async function preflightSite(client: SiteClient, task: SiteTask, tally = new Tally(), opts?: PreflightOptions): Promise<SiteSnapshot> {
  return preflightInProtocol(client, task, tally, opts);
}

/** The settings to write to a site, in its protocol's order. */
export function changesFor(task: SiteTask, before: SiteSnapshot): SettingName[] {
  const changes = changesNeeded(task.desired, before);
  return before.protocol === 'seed' ? seedWriteOrder(changes) : changes;
}

/**
 * Writes what differs from `before` and proves it landed, in the site's protocol:
 * - keyfleet with `atomic_write`: one `PUT /api/export/settings` whose answer (the key view as
 *   committed) is the proof; `readBack` adds a separate read;
 * - keyfleet: one PUT per setting (secrets first), then the key view read back (pk by value,
 *   secrets by fingerprint);
 * - seed: rk_ refused before sending, the secret first (a refusal stops the site), public values
 *   read several times, secrets `unverifiable`.
 * A site that answered OK but holds something else is `verify_mismatch`. Never throws: every failure
 * is a classified outcome.
 */
export async function pushSite(
  client: SiteClient,
  task: SiteTask,
  before: SiteSnapshot,
  dryRun: boolean,
  tally = new Tally(),
): Promise<SiteOutcome> {
  const changes = changesFor(task, before);
  const protocol = before.protocol ?? 'keyfleet';
  const done = (status: SiteOutcome['status'], verified: boolean, extra: Partial<SiteOutcome> = {}): SiteOutcome => ({
    url: task.url, status, verified, attempts: tally.attempts, duration_ms: tally.ms, error: null, before, changes, protocol, ...extra,
  });
  const fail = (err: unknown): SiteOutcome => failedOutcome(task.url, err, tally, before, changes, protocol);
  try {
    if (protocol === 'seed' && changes.includes('stripe_secret_key')) refuseRestrictedKey(task.url, task.desired);
  } catch (err) {
    return fail(err);
  }
  const refused = task.unrestorable?.length
    ? new SiteError({ code: 'seed_secret_not_restorable', url: task.url, detail: `${describeSettings(task.unrestorable)} left as they are${changes.length ? `; ${describeSettings(changes)} restored` : ''}`, attempts: 0 })
    : null;
  if (changes.length === 0) return refused ? fail(refused) : done('unchanged', true);
  if (dryRun) return refused ? fail(refused) : done('ok', false);
  try {
    const apiKey = task.apiKey ?? '';
    if (protocol === 'seed') {
      await seedWrite(client, task, apiKey, changes, tally);
      const proof = await seedProve(client, task, changes, tally);
      const pending = proof.stale.length + proof.wrong.length > 0;
      if (refused) return fail(refused);
      return done('ok', !pending, {
        ...(proof.unverifiable.length > 0 ? { unverifiable: proof.unverifiable } : {}),
        ...(pending ? { pending_proof: `${describeSettings([...proof.stale, ...proof.wrong])}: ${SEED_CACHE_REASON}` } : {}),
      });
    }
    let after: SiteSnapshot;
    if (before.atomic_write === true) {
      const values: DesiredKeys = {};
      for (const name of changes) values[name] = task.desired[name];
      const committed = tally.add(await client.putSettings(task.url, values, apiKey, { close: task.readBack !== true }));
      after = task.readBack === true ? await preflightSite(client, task, tally, { close: true }) : snapshotOf(committed);
    } else {
      for (const name of changes) tally.add(await client.putSetting(task.url, name, task.desired[name] ?? '', apiKey));
      // The read-back is this site's last request of the run: its connection is closed after it.
      after = snapshotOf(await readSite(client, task, tally, { close: true }));
    }
    const wrong = mismatches(task.desired, after);
    if (wrong.length > 0) {
      throw new SiteError({ code: 'verify_mismatch', url: task.url, detail: `still holds other ${describeSettings(wrong)} after the push`, attempts: 0 });
    }
    return done('ok', true);
  } catch (err) {
    return fail(err);
  }
}

export function failedOutcome(
  url: string,
  err: unknown,
  tally: { attempts: number; ms: number },
  before: SiteSnapshot | null,
  changes: SettingName[] = [],
  protocol: SiteOutcome['protocol'] = before?.protocol ?? protocolOfFailure(err),
): SiteOutcome {
  if (!(err instanceof SiteError)) throw err;
  // A SiteError's attempts are those of its own call; earlier calls of this site were tallied already.
  return {
    url,
    status: 'failed',
    verified: false,
    attempts: tally.attempts + err.attempts,
    duration_ms: tally.ms,
    error: err.toJSON(),
    before,
    changes,
    ...(protocol === undefined ? {} : { protocol }),
  };
}

export { Tally };
