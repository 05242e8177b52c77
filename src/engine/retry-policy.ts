import { ERROR_CATALOG, type ErrorCode } from '../protocol/error-catalog.js';

/**
 * The one retry policy of the engine (DESIGN.md §2 "Per request"). Every default lives in
 * `RETRY_DEFAULTS`; the site client asks the policy whether and how long to wait, so call sites never
 * branch on retry. Backoff is exponential with full jitter (a random wait between 0 and the capped
 * exponential step), which spreads a fleet's retries instead of synchronising them on a sick proxy.
 * A `Retry-After` from the site replaces the jittered wait, capped so one site cannot stall a push.
 *
 * @example
 * const policy = createRetryPolicy({ retries: 2 });
 * if (policy.shouldRetry('bad_gateway', attempt)) await policy.sleep(policy.delayMs(attempt, null));
 */
export interface RetryOptions {
  /** Retries after the first attempt (`--retries`); attempts = retries + 1. */
  readonly retries: number;
  /** Upper bound of the first backoff step. */
  readonly baseDelayMs: number;
  /** Growth of the upper bound per attempt. */
  readonly factor: number;
  /** Cap of the upper bound, whatever the attempt. */
  readonly maxDelayMs: number;
  /** Longest `Retry-After` obeyed; a longer one is shortened to this. */
  readonly maxRetryAfterMs: number;
  /** Failure codes that are safe to retry: the request had no effect, or repeating it is harmless. */
  readonly retryOn: ReadonlySet<ErrorCode>;
}

/**
 * Retryable codes come from the catalog's `retryable` flag (timeout, connection_refused,
 * connection_reset, too_many_attempts, bad_gateway, service_unavailable, gateway_timeout), so the
 * catalog stays the single place that says what a code means. Never 400/401/404: the same request
 * would get the same answer.
 */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(
  (Object.keys(ERROR_CATALOG) as ErrorCode[]).filter((code) => ERROR_CATALOG[code].retryable === true),
);

export const RETRY_DEFAULTS: Readonly<RetryOptions> = Object.freeze({
  retries: 2,
  baseDelayMs: 200,
  factor: 2,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 10_000,
  retryOn: RETRYABLE,
});

/** Time and randomness, injectable so backoff is tested without real sleeps. */
export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** A number in [0, 1). */
  random(): number;
}

const SYSTEM_CLOCK: RetryClock = {
  now: () => Date.now(),
  // Global setTimeout (not node:timers/promises) so vitest's fake timers can drive it.
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export interface RetryPolicy {
  readonly options: Readonly<RetryOptions>;
  /** Total attempts allowed, first one included. */
  readonly maxAttempts: number;
  /** May a request that failed with `code` on attempt `attempt` (1-based) be tried again? */
  shouldRetry(code: ErrorCode, attempt: number): boolean;
  /** Wait before the attempt after `attempt`; `retryAfterMs` from the site wins when present. */
  delayMs(attempt: number, retryAfterMs: number | null): number;
  /** `Retry-After` as delta-seconds or an HTTP date, in ms from now; null when absent or unreadable. */
  parseRetryAfter(header: string | string[] | undefined): number | null;
  sleep(ms: number): Promise<void>;
}

export function createRetryPolicy(
  overrides: Partial<RetryOptions> = {},
  clock: Partial<RetryClock> = {},
): RetryPolicy {
  const options: RetryOptions = { ...RETRY_DEFAULTS, ...overrides };
  if (!Number.isInteger(options.retries) || options.retries < 0) {
    throw new RangeError(`retries must be a whole number >= 0, got ${String(options.retries)}`);
  }
  const { now, sleep, random } = { ...SYSTEM_CLOCK, ...clock };

  return {
    options,
    maxAttempts: options.retries + 1,
    shouldRetry(code, attempt) {
      return attempt <= options.retries && options.retryOn.has(code);
    },
    delayMs(attempt, retryAfterMs) {
      if (retryAfterMs !== null) return Math.min(Math.max(0, retryAfterMs), options.maxRetryAfterMs);
      const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * options.factor ** (attempt - 1));
      return Math.floor(random() * ceiling);
    },
    parseRetryAfter(header) {
      const value = Array.isArray(header) ? header[0] : header;
      if (value === undefined) return null;
      const trimmed = value.trim();
      if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
      // Every HTTP-date form starts with a day name; without that check Date.parse reads '-3' or
      // '1.5' as dates. A date in the past means "now"; anything else is ignored, not guessed.
      const at = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
      return Number.isNaN(at) ? null : Math.max(0, at - now());
    },
    sleep,
  };
}
