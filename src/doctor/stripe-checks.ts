import { HealthStripeBody, TestStripeBody, type KeyInfo } from '../protocol/bodies.js';
import { fingerprint, maskKey } from '../protocol/fingerprint.js';
import { isValidKey } from '../protocol/key-formats.js';
import { API_KEY_HEADER, ROUTES } from '../protocol/routes.js';
import { SETTINGS, SETTING_NAMES, type SettingName } from '../protocol/settings.js';
import { fail, pass, skip, warn, type DoctorContext, type SiteRun, type StepOutcome } from './check.js';
import { failFrom, httpFor } from './site-requests.js';
import { checkSeedSite, skipTestStripeOnSeed } from './seed-checks.js';

/**
 * Checks 8 and 9, what only the site's key can show: the guide's "Master API Key Mismatch" and its
 * "Test Stripe Integration". The authenticated /api/health/stripe says whether the key is accepted,
 * whether a secret is configured, where each value comes from (`source: env` means an environment
 * variable is in effect, `shadows_env` that a pushed value hides a different one), the mode of each
 * key and its fingerprint, compared here with the keys in the operator's environment. Values are
 * compared by fingerprint only and shown masked (`sk_test_…a1b2`).
 */
const USER_AGENT = { 'user-agent': 'keyfleet-doctor' };

/** Check 8: the authenticated Stripe health view. */
export async function checkStripeHealth(site: SiteRun, ctx: DoctorContext): Promise<StepOutcome> {
  if (site.seedSettings !== undefined) return checkSeedSite(site, ctx);
  if (site.apiKey === null) {
    return warn(
      'no_api_key',
      `not checked: ${site.apiKeyVariable} is not set, so the key, secret and fingerprints are unknown`,
    );
  }
  let body: HealthStripeBody;
  try {
    const result = await httpFor(site, ctx).call({
      method: 'GET',
      path: ROUTES.healthStripe,
      headers: { ...USER_AGENT, [API_KEY_HEADER]: site.apiKey },
      body: null,
      schema: HealthStripeBody,
      map: (b) => b as HealthStripeBody,
      secrets: [site.apiKey],
    });
    body = result.value;
  } catch (err) {
    return failFrom(err);
  }
  if (body.authenticated !== true || body.keys === undefined) {
    return fail(
      'unexpected_response',
      'the site answered without the authenticated view (an old template version?)',
    );
  }
  site.stripeHealth = body;
  const keys = body.keys;
  const sk = keys.stripe_secret_key ?? null;
  const pk = keys.stripe_publishable_key ?? null;
  if (!body.secret_key_configured || sk === null) {
    return fail(
      'secret_key_missing',
      `key accepted; no secret key (publishable key ${pk ? describe(pk, 'stripe_publishable_key') : 'missing too'})`,
    );
  }

  const shadowing: string[] = [];
  const mismatched: string[] = [];
  const matched: string[] = [];
  for (const name of SETTING_NAMES) {
    const expected = ctx.expected[name];
    if (expected === undefined || !isValidKey(SETTINGS[name].kind, expected)) continue;
    const info = keys[name] ?? null;
    const envVar = SETTINGS[name].envVar;
    if (info !== null && info.fingerprint === fingerprint(expected)) {
      matched.push(envVar);
      continue;
    }
    const what = `${SETTINGS[name].short} is ${info ? describe(info, name) : 'not set'}, ${envVar} here is ${maskKey(expected)}`;
    (info?.source === 'env' ? shadowing : mismatched).push(what);
  }
  if (shadowing.length > 0) {
    return fail('env_shadowing', `the site's environment variable is in effect: ${shadowing.join('; ')}`);
  }
  if (pk !== null && pk.mode !== null && sk.mode !== null && pk.mode !== sk.mode) {
    return fail(
      'mode_mismatch',
      `publishable key is ${pk.mode} (${describe(pk, 'stripe_publishable_key')}), secret key is ${sk.mode} (${describe(sk, 'stripe_secret_key')})`,
    );
  }
  if (mismatched.length > 0) return fail('verify_mismatch', mismatched.join('; '));
  // The settings hold the expected key but the public route serves another: a cache or a proxy.
  if (site.servedPk !== null && pk?.value !== undefined && site.servedPk !== pk.value) {
    return fail(
      'verify_mismatch',
      `/api/stripe-pk serves ${maskKey(site.servedPk)}, the settings hold ${maskKey(pk.value)} (a cache or proxy serves a stale key)`,
    );
  }

  const summary = `key accepted; ${describe(sk, 'stripe_secret_key')}${pk ? `, ${describe(pk, 'stripe_publishable_key')}` : ''}; ${body.environment ?? 'unknown'} mode`;
  const compared =
    matched.length > 0
      ? `; fingerprints match ${matched.join(', ')}`
      : '; no local keys to compare (STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY)';
  const hidden = SETTING_NAMES.filter((n) => keys[n]?.shadows_env === true);
  if (hidden.length > 0) {
    const vars = hidden.map((n) => SETTINGS[n].envVar).join(', ');
    return warn(
      'env_shadowed',
      `${summary}; the pushed value hides a different ${vars} in the site's environment${compared}`,
    );
  }
  return pass(`${summary}${compared}`);
}

/** Check 9 (`--stripe`): the site makes one read-only Stripe call with its stored secret. */
export async function checkTestStripe(site: SiteRun, ctx: DoctorContext): Promise<StepOutcome> {
  if (!ctx.stripe) return skip('not requested (--stripe)');
  if (site.seedSettings !== undefined) return skipTestStripeOnSeed();
  if (site.apiKey === null) return skip(`needs ${site.apiKeyVariable}`);
  try {
    const { value, durationMs } = await httpFor(site, ctx).call({
      method: 'POST',
      path: ROUTES.testStripe,
      headers: { ...USER_AGENT, [API_KEY_HEADER]: site.apiKey },
      body: null,
      schema: TestStripeBody,
      map: (b) => b,
      secrets: [site.apiKey],
    });
    return pass(`Stripe accepted the stored secret (livemode ${String(value.livemode)}) in ${durationMs} ms`);
  } catch (err) {
    return failFrom(err);
  }
}

/** `sk_test_…a1b2 (settings)`: never more than the masked form the site itself reports. */
function describe(info: KeyInfo, name: SettingName): string {
  const shown = info.value !== undefined ? maskKey(info.value) : `${SETTINGS[name].short} …${info.last4}`;
  const from = info.source === 'env' ? `env ${SETTINGS[name].envVar}` : 'settings';
  return `${shown} (${from})`;
}
