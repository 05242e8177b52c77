import type { ReadOptions, SiteClient } from './site-client.js';
import { SiteError } from './site-error.js';
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
 * Preflight: the authenticated /api/health/stripe proves the site is reachable, accepts the key,
 * and tells what it holds now (the `before` snapshot a rollback restores).
 */
export async function preflightSite(client: SiteClient, task: SiteTask, tally = new Tally(), opts?: ReadOptions): Promise<SiteSnapshot> {
  return snapshotOf(await readSite(client, task, tally, opts));
}

/**
 * Writes what differs from `before`, then reads the site back and proves every pushed setting landed
 * (pk by value, secrets by fingerprint). A site that answered OK but holds something else is
 * `verify_mismatch`. Never throws: every failure is a classified outcome.
 */
export async function pushSite(
  client: SiteClient,
  task: SiteTask,
  before: SiteSnapshot,
  dryRun: boolean,
  tally = new Tally(),
): Promise<SiteOutcome> {
  const changes = changesNeeded(task.desired, before);
  const done = (status: SiteOutcome['status'], verified: boolean): SiteOutcome => ({
    url: task.url, status, verified, attempts: tally.attempts, duration_ms: tally.ms, error: null, before, changes,
  });
  if (changes.length === 0) return done('unchanged', true);
  if (dryRun) return done('ok', false);
  try {
    const apiKey = task.apiKey ?? '';
    for (const name of changes) tally.add(await client.putSetting(task.url, name, task.desired[name] ?? '', apiKey));
    // The read-back is this site's last request of the run: its connection is closed after it.
    const after = await preflightSite(client, task, tally, { close: true });
    const wrong = mismatches(task.desired, after);
    if (wrong.length > 0) {
      throw new SiteError({ code: 'verify_mismatch', url: task.url, detail: `still holds other ${describeSettings(wrong)} after the push`, attempts: 0 });
    }
    return done('ok', true);
  } catch (err) {
    return failedOutcome(task.url, err, tally, before, changes);
  }
}

export function failedOutcome(
  url: string,
  err: unknown,
  tally: { attempts: number; ms: number },
  before: SiteSnapshot | null,
  changes: SettingName[] = [],
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
  };
}

export { Tally };
