import type { SiteTarget } from '../engine/transport.js';
import type { HealthStripeBody } from '../protocol/bodies.js';
import type { ErrorCode } from '../protocol/error-catalog.js';
import type { KeySet } from '../keys/key-source.js';
import type { DoctorHttp, HttpEvent, SiteHttp } from './doctor-http.js';
import type { ProxyRoute } from './proxy-route.js';

/**
 * The vocabulary of `keyfleet doctor`: the ten checks of the ladder (the troubleshooting guide's
 * manual steps, in its order), what each one reports, and the state one site's ladder carries from a
 * step to the next (addresses found by DNS, the address TCP reached, the requests made so far).
 */
export const CHECK_NAMES = [
  'url',
  'dns',
  'tcp',
  'tls',
  'http',
  'health',
  'stripe-pk',
  'stripe-health',
  'test-stripe',
  'latency',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** One check as printed and as `--json` gives it. */
export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  detail: string;
  duration_ms: number;
}

/** What a step decides. A warning or a failure carries the one catalog code that names it. */
export type StepOutcome =
  { status: 'pass' | 'skip'; detail: string } | { status: 'warn' | 'fail'; detail: string; code: ErrorCode };

export const pass = (detail: string): StepOutcome => ({ status: 'pass', detail });
export const skip = (detail: string): StepOutcome => ({ status: 'skip', detail });
export const warn = (code: ErrorCode, detail: string): StepOutcome => ({ status: 'warn', code, detail });
export const fail = (code: ErrorCode, detail: string): StepOutcome => ({ status: 'fail', code, detail });

export interface Diagnosis {
  code: ErrorCode;
  /** The fix, from the troubleshooting guide (the catalog's hint). */
  hint: string;
  /** A curl command that shows the problem; keys appear as `$VARIABLE`, never as values. */
  reproduce: string;
}

/** One site's report, exactly the `--json` shape. */
export interface SiteReport {
  url: string;
  checks: CheckResult[];
  diagnosis: Diagnosis | null;
}

/** Settings shared by every site of one doctor run. */
export interface DoctorContext {
  http: DoctorHttp;
  timeoutMs: number;
  allowHttp: boolean;
  /** PEM of `--ca-file`, trusted on top of the bundled roots, exactly as the transport does. */
  ca: string | undefined;
  /** Path of `--ca-file` (or NODE_EXTRA_CA_CERTS) for the curl command; never its content. */
  caFile: string | undefined;
  caFileVariable: string | undefined;
  /** Where proxy variables are read from. */
  env: Readonly<Record<string, string | undefined>>;
  /** Keys in the operator's environment, compared by fingerprint with what each site holds. */
  expected: KeySet;
  /** `--stripe`: also POST /api/test-stripe. */
  stripe: boolean;
  /**
   * `--protocol` (issue 9): `keyfleet` never takes a missing /api/health for the original template;
   * `auto` (the default) and `seed` do when its public settings route answers.
   */
  protocol?: 'auto' | 'keyfleet' | 'seed';
}

/** What one site's ladder knows so far. */
export interface SiteRun {
  /** The URL as given (sites files hold normalised ones). */
  readonly input: string;
  /** The key that opens this site, and the variable it comes from (for the curl command). */
  readonly apiKey: string | null;
  readonly apiKeyVariable: string;
  url: URL | null;
  target: SiteTarget | null;
  route: ProxyRoute | null;
  /** Addresses of the host that is connected to first: the site, or the proxy when one is in effect. */
  addresses: string[];
  /** The address the TCP check reached. */
  reached: string | null;
  /** What GET /api/stripe-pk served, for the authenticated comparison. */
  servedPk: string | null;
  stripeHealth: HealthStripeBody | null;
  /** Issue 9: set when the site is the original template — its public GET /api/export/settings. */
  seedSettings?: Record<string, unknown>;
  /** Every HTTP attempt made for this site (retries included). */
  events: HttpEvent[];
  /** This site's view of the doctor's HTTP, made once the URL is known. */
  http: SiteHttp | null;
}

export function newSiteRun(input: string, apiKey: string | null, apiKeyVariable: string): SiteRun {
  return {
    input,
    apiKey,
    apiKeyVariable,
    url: null,
    target: null,
    route: null,
    addresses: [],
    reached: null,
    servedPk: null,
    stripeHealth: null,
    events: [],
    http: null,
  };
}

/** Site-supplied text, on one line and short enough for a report. */
export function clip(text: string, max = 160): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
