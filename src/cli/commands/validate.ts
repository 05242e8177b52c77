import { ERROR_CATALOG, EXIT, isErrorCode } from '../../protocol/error-catalog.js';
import { maskKey, maskSecrets } from '../../protocol/fingerprint.js';
import { isValidKey, keyMode } from '../../protocol/key-formats.js';
import { loadKeys } from '../../keys/key-source.js';
import { validateKeys, type Problem } from '../../keys/validate-keys.js';
import { createStripeGateway, StripeGatewayError } from '../../template/stripe-gateway.js';
import { usageError } from '../../protocol/cli-error.js';
import { renderHuman, renderJson, type StripeCheck } from '../validate-report.js';

/**
 * `keyfleet validate`: the local checks a push starts with, on their own — formats, lengths, the
 * test/live mix — and, with `--check-stripe`, one read-only Stripe call (GET /v1/balance) proving the
 * secret works and is in the mode its prefix claims. Exit 0 when the keys are fit to push, 2 when
 * anything is wrong (warnings alone do not fail). Nothing is ever sent to a site.
 *
 * @example keyfleet validate --secret-key-file - --check-stripe --json < sk.txt
 */
export interface ValidateOptions {
  envFile?: string;
  secretKeyFile?: string;
  secretKey?: string;
  publishableKey?: string;
  checkStripe?: boolean;
  json?: boolean;
}

/** Same budget as one request to a site (DESIGN.md §2: 8 s). */
const STRIPE_TIMEOUT_MS = 8_000;
const UNREACHABLE_HINT =
  "Check this machine's network and DNS for api.stripe.com (or STRIPE_API_BASE), then retry.";

export async function validate(opts: ValidateOptions): Promise<number> {
  const sourceWarnings: string[] = [];
  const loaded = await loadKeys({
    envFile: opts.envFile,
    secretKeyFile: opts.secretKeyFile,
    secretKey: opts.secretKey,
    publishableKey: opts.publishableKey,
    warn: (msg) => {
      sourceWarnings.push(msg);
      write(process.stderr, `keyfleet: warning: ${msg}\n`);
    },
  });
  const result = validateKeys(loaded.keys);
  // Issue 9: sites of the original template refuse restricted keys; said here, before any push.
  if (loaded.keys.stripe_secret_key?.startsWith('rk_')) {
    const msg = `restricted key (rk_…): sites of the original template (seed protocol) refuse it — a push reports them ${'restricted_key_unsupported'} and sends them nothing; keyfleet template sites accept it.`;
    sourceWarnings.push(msg);
    write(process.stderr, `keyfleet: warning: ${msg}\n`);
  }
  const stripe = opts.checkStripe ? await checkStripe(loaded.keys.stripe_secret_key) : null;
  const problems = [...result.problems, ...(stripe?.problems ?? [])];
  const report = {
    ...result,
    ok: problems.length === 0,
    problems,
    keys: loaded.keys,
    sources: loaded.sources,
  };

  if (opts.json) {
    const extra: Problem[] = sourceWarnings.map((message) => ({
      setting: null,
      code: 'key_source',
      message,
      hint: '',
    }));
    write(process.stdout, renderJson(report, stripe?.check ?? null, extra));
  } else {
    write(process.stdout, renderHuman(report, stripe?.check ?? null));
  }
  return report.ok ? EXIT.ok : EXIT.usage;
}

/** Belt and braces: every message is built from masked keys already; this catches any slip. */
function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(maskSecrets(text));
}

async function checkStripe(secret: string | undefined): Promise<{ check: StripeCheck; problems: Problem[] }> {
  if (secret === undefined) {
    const problem: Problem = {
      setting: null,
      code: 'check_stripe_needs_sk',
      message: '--check-stripe needs the secret key, and none is set',
      hint: 'export STRIPE_SECRET_KEY, or pass --secret-key-file (- for stdin).',
    };
    return { check: { checked: false, livemode: null, reason: problem.message }, problems: [problem] };
  }
  if (!isValidKey('secret_key', secret)) {
    // Its format problem is already reported; Stripe would only refuse it, and junk stays off the wire.
    return {
      check: { checked: false, livemode: null, reason: 'not called: the secret key is malformed' },
      problems: [],
    };
  }
  let gateway;
  try {
    gateway = createStripeGateway({
      apiBase: process.env.STRIPE_API_BASE || undefined,
      timeoutMs: STRIPE_TIMEOUT_MS,
    });
  } catch (err) {
    throw usageError((err as Error).message, 'Unset STRIPE_API_BASE to use api.stripe.com.');
  }
  const shown = maskKey(secret);
  try {
    const { livemode } = await gateway.testKey(secret);
    const expected = keyMode(secret) === 'live';
    if (livemode === expected) return { check: { checked: true, livemode }, problems: [] };
    const problem: Problem = {
      setting: 'stripe_secret_key',
      code: 'stripe_mode_mismatch',
      message: `Stripe answered in ${livemode ? 'live' : 'test'} mode for ${shown}, a ${expected ? 'live' : 'test'} key`,
      hint: 'STRIPE_API_BASE may point at the wrong account or a proxy; copy the key again from https://dashboard.stripe.com/apikeys.',
    };
    return { check: { checked: true, livemode }, problems: [problem] };
  } catch (err) {
    if (!(err instanceof StripeGatewayError)) throw err;
    const unreachable = err.code === 'stripe_unreachable';
    const problem: Problem = {
      setting: 'stripe_secret_key',
      code: err.code,
      message: `${unreachable ? 'could not reach Stripe to check' : 'Stripe did not accept'} ${shown}: ${maskSecrets(err.message)}`,
      // The catalog's hint speaks of a site's network; here the call left this machine.
      hint: unreachable ? UNREACHABLE_HINT : isErrorCode(err.code) ? ERROR_CATALOG[err.code].hint : '',
    };
    return { check: { checked: true, livemode: null, reason: problem.message }, problems: [problem] };
  }
}
