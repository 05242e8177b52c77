import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a key: how the site stores its own credentials, and what it compares. */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export const HASH_PREFIX = 'sha256:';

export function storedHash(key: string): string {
  return HASH_PREFIX + hashApiKey(key).toString('hex');
}

export function parseStoredHash(stored: string | undefined): Buffer | null {
  if (!stored?.startsWith(HASH_PREFIX)) return null;
  const buf = Buffer.from(stored.slice(HASH_PREFIX.length), 'hex');
  return buf.length === 32 ? buf : null;
}

/**
 * Constant-time check of a presented key against every currently valid key: both sides are hashed
 * to 32 bytes (so lengths never leak) and every candidate is compared, with no early exit.
 */
export function keyMatches(presented: string, accepted: readonly Buffer[]): Buffer | null {
  const h = hashApiKey(presented);
  let match: Buffer | null = null;
  for (const candidate of accepted) {
    if (timingSafeEqual(h, candidate) && match === null) match = candidate;
  }
  return match;
}

/**
 * Counts failed authentications per address in a one-minute window. Past the limit the address gets
 * 429 `too_many_attempts` until the window ends, whether or not its next key is right.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds to wait when `address` is locked out, else 0. */
  retryAfter(address: string): number {
    const w = this.windows.get(address);
    if (!w) return 0;
    const elapsed = this.now() - w.start;
    if (elapsed >= this.windowMs) {
      this.windows.delete(address);
      return 0;
    }
    return w.failures > this.limit ? Math.ceil((this.windowMs - elapsed) / 1000) : 0;
  }

  recordFailure(address: string): void {
    const t = this.now();
    const w = this.windows.get(address);
    if (!w || t - w.start >= this.windowMs) this.windows.set(address, { start: t, failures: 1 });
    else w.failures += 1;
    if (this.windows.size > 10_000) this.prune(t);
  }

  private prune(t: number): void {
    for (const [addr, w] of this.windows) if (t - w.start >= this.windowMs) this.windows.delete(addr);
  }
}
