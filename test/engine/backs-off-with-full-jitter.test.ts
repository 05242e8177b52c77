import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRetryPolicy, RETRY_DEFAULTS } from '../../src/engine/retry-policy.js';
import type { ErrorCode } from '../../src/protocol/error-catalog.js';

/** The retry policy on its own: defaults, which codes retry, the backoff curve, Retry-After parsing. */
describe('retry defaults', () => {
  it('retries exactly the safe codes of DESIGN.md §2', () => {
    expect([...RETRY_DEFAULTS.retryOn].sort()).toEqual(
      [
        'bad_gateway',
        'connection_refused',
        'connection_reset',
        'gateway_timeout',
        'service_unavailable',
        'timeout',
        'too_many_attempts',
        // Every 429 of the catalog (DESIGN §2 retries 429): the template's and the dashboard's limits.
        'rate_limited',
        'too_many_registrations',
      ].sort(),
    );
  });

  it('makes 3 attempts by default (--retries 2)', () => {
    expect(createRetryPolicy().maxAttempts).toBe(3);
    expect(RETRY_DEFAULTS.retries).toBe(2);
  });

  it.each([
    'invalid_api_key',
    'invalid_secret_format',
    'endpoint_not_found',
    'tls_error',
    'dns_not_found',
  ] as ErrorCode[])('never retries %s', (code) => {
    expect(createRetryPolicy({ retries: 10 }).shouldRetry(code, 1)).toBe(false);
  });

  it('stops at the limit', () => {
    const policy = createRetryPolicy({ retries: 2 });
    expect([1, 2, 3].map((n) => policy.shouldRetry('bad_gateway', n))).toEqual([true, true, false]);
  });

  it('refuses a negative or fractional retry count', () => {
    expect(() => createRetryPolicy({ retries: -1 })).toThrow(RangeError);
    expect(() => createRetryPolicy({ retries: 1.5 })).toThrow(RangeError);
  });
});

describe('backoff', () => {
  const options = { baseDelayMs: 100, factor: 2, maxDelayMs: 1000 };

  it('grows exponentially up to the cap when the dice roll high', () => {
    const policy = createRetryPolicy(options, { random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6].map((n) => policy.delayMs(n, null))).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it('is full jitter: anywhere from 0 to the step', () => {
    const low = createRetryPolicy(options, { random: () => 0 });
    expect(low.delayMs(4, null)).toBe(0);
    const mid = createRetryPolicy(options, { random: () => 0.5 });
    expect(mid.delayMs(3, null)).toBe(200);
  });

  it('uses Retry-After instead of jitter, capped', () => {
    const policy = createRetryPolicy({ ...options, maxRetryAfterMs: 5000 }, { random: () => 0 });
    expect(policy.delayMs(1, 1000)).toBe(1000);
    expect(policy.delayMs(1, 3_600_000)).toBe(5000);
    expect(policy.delayMs(1, -5)).toBe(0);
  });
});

describe('Retry-After parsing', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  const policy = createRetryPolicy({}, { now: () => now });

  it.each([
    ['1', 1000],
    [' 120 ', 120_000],
    ['0', 0],
    ['Wed, 01 Jan 2025 00:00:30 GMT', 30_000],
    ['Tue, 31 Dec 2024 23:59:00 GMT', 0],
  ])('%j → %i ms', (header, ms) => {
    expect(policy.parseRetryAfter(header)).toBe(ms);
  });

  it.each([[undefined], ['soon'], ['-3'], ['1.5']])('%j is ignored', (header) => {
    expect(policy.parseRetryAfter(header)).toBeNull();
  });

  it('reads the first of repeated headers', () => {
    expect(policy.parseRetryAfter(['2', '9'])).toBe(2000);
  });
});

describe('default clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sleeps on the global timer, so fake timers drive it', async () => {
    vi.useFakeTimers();
    const policy = createRetryPolicy();
    let woke = false;
    const sleeping = policy.sleep(5000).then(() => (woke = true));
    await vi.advanceTimersByTimeAsync(4999);
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(woke).toBe(true);
  });
});
