import { fingerprint } from '../protocol/fingerprint.js';
import { SETTINGS, type SettingName } from '../protocol/settings.js';
import type { SiteClient } from './site-client.js';
import { SiteError } from './site-error.js';
import { failedOutcome, preflightSite, Tally, type SiteOutcome, type SiteTask } from './push-site.js';
import { describeSettings, mismatches } from './site-state.js';

/**
 * Reads one site and compares it with the keys it should hold: with an API key, everything through
 * the authenticated health view (pk by value, secrets by fingerprint); without one, the public pk only.
 */
export async function verifySite(client: SiteClient, task: SiteTask): Promise<SiteOutcome> {
  const tally = new Tally();
  try {
    let wrong: SettingName[];
    let before = null;
    if (task.apiKey) {
      before = await preflightSite(client, task, tally, { close: true });
      wrong = mismatches(task.desired, before);
    } else {
      const pk = tally.add(await client.getPublishableKey(task.url, { close: true }));
      wrong = task.desired.stripe_publishable_key !== undefined && pk !== task.desired.stripe_publishable_key ? ['stripe_publishable_key'] : [];
    }
    if (wrong.length > 0) {
      const detail = wrong
        .map((n) => `${SETTINGS[n].short} ${before ? `is ${before.fingerprints[n] ?? 'missing'}` : 'differs'}, expected ${fingerprint(task.desired[n] ?? '')}`)
        .join('; ');
      throw new SiteError({ code: 'verify_mismatch', url: task.url, detail: `drift: ${describeSettings(wrong)} (${detail})`, attempts: 0 });
    }
    return { url: task.url, status: 'ok', verified: true, attempts: tally.attempts, duration_ms: tally.ms, error: null, before, changes: [] };
  } catch (err) {
    return failedOutcome(task.url, err, tally, null);
  }
}
