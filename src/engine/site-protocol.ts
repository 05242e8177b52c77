import type { SiteSnapshot } from '../store/state-store.js';
import type { ProtocolName } from './protocol-choice.js';
import type { PreflightOptions, ProtocolTask, Tallying } from './protocol-task.js';
import type { SiteClient } from './site-client.js';
import { SiteError } from './site-error.js';
import { snapshotOf } from './site-state.js';
import { seedPreflight } from './seed-protocol.js';
import type { HealthStripeBody } from '../protocol/bodies.js';

/**
 * The two site protocols of DESIGN.md, one pipeline (issue 9). `keyfleet`: the template this package
 * serves (authenticated `/api/health/stripe` with `keys`, fingerprints, maybe `atomic_write`).
 * `seed`: the original gallery template (SEED_TEMPLATE.md). `auto` detects it at preflight: a 404 on
 * the authenticated health view, or a public-only view where a key was sent, means `seed`. Push,
 * verify, backup, rollback and doctor all preflight through `preflightSite`, so the protocol decides
 * which requests prove what, never which pipeline runs.
 *
 * @example
 *   const before = await preflightSite(client, { url, apiKey, desired, protocol: 'auto' }, tally);
 *   before.protocol; // 'seed' | 'keyfleet'
 */

/** Preflight failures that happened once the site was known to be `seed` (its result says so). */
const SEED_FAILURES = new WeakSet<SiteError>();

export function protocolOfFailure(err: unknown): ProtocolName | undefined {
  return err instanceof SiteError && SEED_FAILURES.has(err) ? 'seed' : undefined;
}

/**
 * Preflight of one site in its protocol: proves the key before anything is written, and returns
 * what the site holds (the snapshot a rollback restores), tagged with the protocol.
 */
export async function preflightSite(
  client: SiteClient,
  task: ProtocolTask,
  tally: Tallying,
  opts: PreflightOptions = {},
): Promise<SiteSnapshot> {
  return (await readSiteView(client, task, tally, opts)).snapshot;
}

/** The preflight's snapshot and, on a keyfleet site, the authenticated key view it came from (last4, mode, source). */
export async function readSiteView(
  client: SiteClient,
  task: ProtocolTask,
  tally: Tallying,
  opts: PreflightOptions = {},
): Promise<{ snapshot: SiteSnapshot; health: HealthStripeBody | null }> {
  const seed = async () => {
    try {
      return { snapshot: await seedPreflight(client, task, task.apiKey ?? '', tally, opts), health: null };
    } catch (err) {
      if (err instanceof SiteError) SEED_FAILURES.add(err);
      throw err;
    }
  };
  if (!task.apiKey) throw new SiteError({ code: 'no_api_key', url: task.url, attempts: 0 });
  const choice = task.protocol ?? 'auto';
  if (choice === 'seed') return seed();
  if (choice === 'auto' && task.protocolHint === 'seed') {
    try {
      return await seed();
    } catch (err) {
      if (!(err instanceof SiteError && (err.code === 'endpoint_not_found' || err.code === 'not_found'))) throw err;
      tally.add({ value: null, attempts: err.attempts });
    }
  }
  let health: HealthStripeBody;
  try {
    health = tally.add(await client.getStripeHealth(task.url, task.apiKey, opts));
  } catch (err) {
    // No health view at all: the original template (Flask's HTML 404).
    if (choice === 'auto' && err instanceof SiteError && err.code === 'endpoint_not_found') {
      tally.add({ value: null, attempts: err.attempts });
      return seed();
    }
    throw err;
  }
  if (health.authenticated !== true || !health.keys) {
    // A public-only view although a key was sent: a seed site that followed the guide's step 8.
    if (choice === 'auto') return seed();
    throw new SiteError({ code: 'unexpected_response', url: task.url, detail: 'the site did not return its authenticated key view (a seed site? try --protocol seed)', attempts: 0 });
  }
  return { snapshot: snapshotOf(health), health };
}
