import type { SettingName } from '../protocol/settings.js';
import type { SiteSnapshot, StateStore } from '../store/state-store.js';
import type { SiteOutcome } from './push-site.js';
import { changesNeeded, PUSH_ORDER, type DesiredKeys } from './site-state.js';

/**
 * What each site of a run held before the run touched it, as the run itself stored it (issue 14,
 * point 1): a `pending` site with a `before` was preflighted, its snapshot made durable, and then
 * possibly written, by a worker that stopped before its result was stored (a dashboard killed
 * mid-job, a CLI killed mid-run). By URL; only sites that have one.
 */
export type StoredBefore = ReadonlyMap<string, SiteSnapshot>;

/** The run's pending sites that already have a stored `before` (`urls` narrows it to some sites). */
export async function loadStoredBefore(
  state: StateStore,
  runId: string,
  urls?: readonly string[],
): Promise<Map<string, SiteSnapshot>> {
  // Only the rows that have one: a new run of 50,000 sites has none, and reads none.
  const rows = await state.siteResults(runId, {
    status: ['pending'],
    before: 'only',
    ...(urls ? { urls } : {}),
  });
  return storedBeforeOf(rows);
}

/** The stored `before` of each result that has one. */
export function storedBeforeOf(
  rows: ReadonlyArray<{ url: string; before: SiteSnapshot | null }>,
): Map<string, SiteSnapshot> {
  const out = new Map<string, SiteSnapshot>();
  for (const r of rows) if (r.before) out.set(r.url, r.before);
  return out;
}

/**
 * A site's outcome within its run, decided against the run's own stored `before` when there is one,
 * not against what the site holds now: a site the run already wrote (by a worker that died before
 * storing its result) holds the run's keys when it is read again, yet the run changed it.
 *
 * - `unchanged` (the read found the run's keys) becomes `ok`, verified by that read, with the changes
 *   from the stored `before`;
 * - `ok` keeps its status, with the changes from the stored `before` as well as those written now;
 * - every outcome reports the stored `before` (what a rollback restores), not the half-way state.
 *
 * Without a stored `before` (or in a dry run, which stores none) the outcome is returned as is.
 */
export function againstStoredBefore(
  outcome: SiteOutcome,
  desired: DesiredKeys,
  stored: SiteSnapshot | undefined,
): SiteOutcome {
  if (!stored) return outcome;
  const changed = changesNeeded(desired, stored);
  const changes = union(changed, outcome.changes);
  if (outcome.status === 'unchanged') {
    return changed.length === 0
      ? { ...outcome, before: stored }
      : { ...outcome, status: 'ok', verified: true, before: stored, changes };
  }
  return { ...outcome, before: stored, changes: outcome.status === 'ok' ? changes : outcome.changes };
}

/** Every name of `a` and `b` once, in push order. */
function union(a: SettingName[], b: SettingName[]): SettingName[] {
  const seen = new Set([...a, ...b]);
  return PUSH_ORDER.filter((n) => seen.has(n));
}
