import { fingerprint } from '../protocol/fingerprint.js';
import { SETTINGS, SETTING_NAMES, type SettingName } from '../protocol/settings.js';
import type { SiteSnapshot } from '../store/state-store.js';
import { SEED_CACHE_REASON, seedProve, type SeedProof } from './seed-protocol.js';
import type { SiteClient } from './site-client.js';
import { SiteError } from './site-error.js';
import { protocolOfFailure } from './site-protocol.js';
import { failedOutcome, preflightSite, Tally, type SiteOutcome, type SiteTask } from './push-site.js';
import { describeSettings, mismatches } from './site-state.js';

export interface VerifySiteOptions {
  /**
   * `verify --wait <s>`: on a seed site whose reads still disagree (workers caching the old value),
   * read again until every read agrees or this many ms have passed.
   */
  waitMs?: number;
  /** Pause between two rounds of reads (default: a twentieth of the wait, 100 ms to 5 s). */
  pollMs?: number;
}

/**
 * Reads one site and compares it with the keys it should hold, in the site's protocol: keyfleet
 * sites through the authenticated health view (pk by value, secrets by fingerprint); seed sites by
 * reading public values several times (secrets are listed `unverifiable`); without an API key, the
 * public pk only. A value some reads still disagree on is `ok` but not verified, with the reason.
 */
export async function verifySite(client: SiteClient, task: SiteTask, opts: VerifySiteOptions = {}): Promise<SiteOutcome> {
  const tally = new Tally();
  let before: SiteSnapshot | null = null;
  try {
    let wrong: SettingName[];
    if (task.apiKey) {
      before = await preflightSite(client, task, tally, { close: true });
      if (before.protocol === 'seed') return await verifySeed(client, task, before, tally, opts);
      wrong = mismatches(task.desired, before);
    } else {
      const pk = tally.add(await client.getPublishableKey(task.url, { close: true }));
      wrong = task.desired.stripe_publishable_key !== undefined && pk !== task.desired.stripe_publishable_key ? ['stripe_publishable_key'] : [];
    }
    if (wrong.length > 0) throw drift(task, wrong, before);
    return { url: task.url, status: 'ok', verified: true, attempts: tally.attempts, duration_ms: tally.ms, error: null, before, changes: [], ...(before ? { protocol: before.protocol ?? 'keyfleet' } : {}) };
  } catch (err) {
    return failedOutcome(task.url, err, tally, null, [], before?.protocol ?? protocolOfFailure(err));
  }
}

async function verifySeed(client: SiteClient, task: SiteTask, before: SiteSnapshot, tally: Tally, opts: VerifySiteOptions): Promise<SiteOutcome> {
  const wanted = SETTING_NAMES.filter((n) => task.desired[n] !== undefined);
  let proof: SeedProof = await seedProve(client, task, wanted, tally);
  const waitMs = opts.waitMs ?? 0;
  const deadline = performance.now() + waitMs;
  const pollMs = opts.pollMs ?? Math.min(5000, Math.max(100, waitMs / 20));
  while (proof.stale.length + proof.wrong.length > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - performance.now()))));
    const again = await seedProve(client, task, [...proof.stale, ...proof.wrong], tally);
    proof = { ...again, unverifiable: proof.unverifiable };
  }
  if (proof.wrong.length > 0) {
    // Its workers may still serve a value cached before the change, for up to 5 minutes.
    const why = waitMs < 300_000 ? '; a seed site\'s workers may serve a cached value for up to 5 minutes: keyfleet verify --wait 300' : '';
    return failedOutcome(task.url, drift(task, proof.wrong, null, why), tally, null, [], 'seed');
  }
  const pending = proof.stale.length > 0;
  return {
    url: task.url, status: 'ok', verified: !pending, attempts: tally.attempts, duration_ms: tally.ms, error: null, before, changes: [], protocol: 'seed',
    ...(proof.unverifiable.length > 0 ? { unverifiable: proof.unverifiable } : {}),
    ...(pending ? { pending_proof: `${describeSettings(proof.stale)}: ${SEED_CACHE_REASON}` } : {}),
  };
}

function drift(task: SiteTask, wrong: SettingName[], before: SiteSnapshot | null, why = ''): SiteError {
  const detail = wrong
    .map((n) => `${SETTINGS[n].short} ${before ? `is ${before.fingerprints[n] ?? 'missing'}` : 'differs'}, expected ${fingerprint(task.desired[n] ?? '')}`)
    .join('; ');
  return new SiteError({ code: 'verify_mismatch', url: task.url, detail: `drift: ${describeSettings(wrong)} (${detail})${why}`, attempts: 0 });
}
