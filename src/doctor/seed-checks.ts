import { anyObject, pkBody, successBody } from '../engine/body-checks.js';
import { maskKey } from '../protocol/fingerprint.js';
import { API_KEY_HEADER, ROUTES } from '../protocol/routes.js';
import { fail, pass, skip, warn, type DoctorContext, type SiteRun, type StepOutcome } from './check.js';
import { failFrom, httpFor } from './site-requests.js';

/**
 * The doctor on a site of the original template (SEED_TEMPLATE.md, issue 9). Such a site has no
 * /api/health and no authenticated /api/health/stripe: that is not a failure of the site, only less
 * proof (no fingerprints). What matters there instead:
 * - the key, proven with `GET /api/export/stats` (the one request with no side effect);
 * - `GET /api/export/settings`, public, must not show `export_api_key` or a secret-looking value
 *   (anyone could then write the site's settings): `settings_exposed`, a critical failure;
 * - repeated reads of `/api/stripe-pk` disagreeing: workers caching an old value, `stale_cache`.
 */
const USER_AGENT = { 'user-agent': 'keyfleet-doctor' };
/** Reads of /api/stripe-pk, each on its own connection, so several worker processes answer. */
export const SEED_PK_READS = 4;

const SECRET_NAME = /secret|password|passwd|token|api_key|apikey|private/i;
const SECRET_VALUE = /^(?:sk|rk)_(?:test|live)_|^whsec_/;

/**
 * Whether this site is a seed site: its public `GET /api/export/settings` answers a flat JSON object
 * (the keyfleet template serves no such read). Called when /api/health is missing; remembered on `site`.
 */
export async function detectSeed(site: SiteRun, ctx: DoctorContext): Promise<boolean> {
  try {
    const { value } = await httpFor(site, ctx).call({
      method: 'GET', path: ROUTES.settings, headers: USER_AGENT, body: null, schema: anyObject, map: (b) => b, secrets: [], dialect: 'seed',
    });
    site.seedSettings = value;
    return true;
  } catch {
    return false;
  }
}

/** Check 8 on a seed site: the key, the public settings leak, the workers' caches. */
export async function checkSeedSite(site: SiteRun, ctx: DoctorContext): Promise<StepOutcome> {
  const exposed = exposedNames(site.seedSettings ?? {});
  if (exposed.length > 0) {
    return fail('settings_exposed', `seed template: GET /api/export/settings shows ${exposed.join(', ')} to anyone (values not shown)`);
  }
  let keyFacts = `not checked: ${site.apiKeyVariable} is not set`;
  if (site.apiKey !== null) {
    try {
      await httpFor(site, ctx).call({
        method: 'GET', path: ROUTES.exportStats, headers: { ...USER_AGENT, [API_KEY_HEADER]: site.apiKey }, body: null, schema: successBody, map: () => undefined, secrets: [site.apiKey], dialect: 'seed',
      });
      keyFacts = 'key accepted (GET /api/export/stats)';
    } catch (err) {
      return failFrom(err);
    }
  }
  const served = new Set<string>();
  for (let i = 0; i < SEED_PK_READS; i++) {
    try {
      const { value } = await httpFor(site, ctx).call({
        method: 'GET', path: ROUTES.stripePk, headers: USER_AGENT, body: null, schema: pkBody, map: (b) => b.publishable_key, absent: { code: 'no_publishable_key', value: '' }, secrets: [], dialect: 'seed', close: true,
      });
      served.add(value);
    } catch (err) {
      return failFrom(err);
    }
  }
  const facts = `seed template: ${keyFacts}; no fingerprint proof of the secret (the original template never reveals it)`;
  if (served.size > 1) {
    const shown = [...served].map((v) => (v ? maskKey(v) : 'none')).join(' / ');
    return warn('stale_cache', `${facts}; ${SEED_PK_READS} reads of /api/stripe-pk disagree: ${shown}`);
  }
  if (site.apiKey === null) return warn('no_api_key', facts);
  return pass(facts);
}

/** `POST /api/test-stripe` does not exist on a seed site. */
export function skipTestStripeOnSeed(): StepOutcome {
  return skip('seed template: no POST /api/test-stripe (the original template has none)');
}

function exposedNames(settings: Record<string, unknown>): string[] {
  return Object.entries(settings)
    .filter(([name, value]) => typeof value === 'string' && value !== '' && (name === 'export_api_key' || SECRET_NAME.test(name) || SECRET_VALUE.test(value)))
    .map(([name]) => name);
}
