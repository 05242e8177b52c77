import pLimit, { type LimitFunction } from 'p-limit';

/**
 * The fleet-wide cap on HTTP requests in flight (`--concurrency`, DESIGN.md §2): it counts requests,
 * not sites, like aiohttp's connector limit, so a site that needs three calls holds a slot only while
 * each call is on the wire. p-limit does the queueing; this wrapper adds the peak count the push
 * benchmark reports.
 *
 * @example
 * const limit = createInFlightLimit(16);
 * await Promise.all(urls.map((u) => limit.run(() => get(u))));
 * limit.peak; // <= 16
 */
export interface InFlightLimit {
  /** Runs `task` once fewer than `concurrency` tasks are running; resolves or rejects with it. */
  run<T>(task: () => Promise<T>): Promise<T>;
  readonly concurrency: number;
  /** Tasks running now. */
  readonly inFlight: number;
  /** Tasks waiting for a slot. */
  readonly pending: number;
  /** Highest `inFlight` seen since creation. */
  readonly peak: number;
}

export function createInFlightLimit(concurrency: number): InFlightLimit {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number >= 1, got ${String(concurrency)}`);
  }
  const limit: LimitFunction = pLimit(concurrency);
  let inFlight = 0;
  let peak = 0;

  // Declared once and handed to p-limit with the task as an argument, so a call allocates no
  // extra closure (p-limit passes arguments through for exactly this reason).
  async function tracked<T>(task: () => Promise<T>): Promise<T> {
    inFlight += 1;
    if (inFlight > peak) peak = inFlight;
    try {
      return await task();
    } finally {
      inFlight -= 1;
    }
  }

  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      return limit(tracked<T>, task);
    },
    concurrency,
    get inFlight() {
      return inFlight;
    },
    get pending() {
      return limit.pendingCount;
    },
    get peak() {
      return peak;
    },
  };
}
