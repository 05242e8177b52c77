/**
 * Who may have the admin password checked, and when (issue 12). The scrypt hash takes tens of
 * milliseconds and 32 MiB, so the gate decides before it runs:
 *
 * - an attempt is **counted before the hash** (as a failure, forgiven when the password was right),
 *   so a thousand parallel guesses from one address reach the hash at most `limit` times a window;
 * - **one check in flight per address**: a second attempt while the first is hashed is refused (and
 *   counted, so a flood from one address locks it out);
 * - **a small global cap** on checks in flight (`maxInFlight`) with a short queue (`maxQueued`):
 *   a flood from many addresses is refused at once instead of making a real login wait behind it.
 *
 * @example const pass = gate.enter(ip); if (!pass.ok) return 429 (pass.retryAfter);
 *          try { ok = await verifyPassword(hash, attempt) } finally { pass.leave(ok) }
 */
export type GatePass =
  | { ok: true; leave(success: boolean): void; wait(): Promise<void> }
  | { ok: false; retryAfter: number; reason: 'locked' | 'busy' };

export interface LoginGateOptions {
  /** Attempts per address per window (KEYFLEET_LOGIN_FAILURES_PER_MINUTE). */
  limit: number;
  windowMs?: number;
  maxInFlight?: number;
  maxQueued?: number;
  now?: () => number;
}

export class LoginGate {
  private readonly windows = new Map<string, { start: number; attempts: number }>();
  private readonly busy = new Set<string>();
  private inFlight = 0;
  private readonly queue: Array<() => void> = [];
  private readonly windowMs: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly now: () => number;
  /** Password checks started since the gate was made (tests count them). */
  checks = 0;

  constructor(private readonly o: LoginGateOptions) {
    this.windowMs = o.windowMs ?? 60_000;
    this.maxInFlight = o.maxInFlight ?? 4;
    this.maxQueued = o.maxQueued ?? 32;
    this.now = o.now ?? Date.now;
  }

  /** Seconds the address must wait before its next attempt is even looked at, else 0. */
  retryAfter(address: string): number {
    const w = this.window(address);
    if (!w || w.attempts < this.o.limit) return 0;
    return Math.max(1, Math.ceil((this.windowMs - (this.now() - w.start)) / 1000));
  }

  /** Synchronous: the decision and the count happen in one turn of the event loop. */
  enter(address: string): GatePass {
    const locked = this.retryAfter(address);
    if (locked > 0) return { ok: false, retryAfter: locked, reason: 'locked' };
    if (this.busy.has(address)) {
      // A guess sent while the last one is hashed is refused, and still counts as an attempt.
      this.count(address);
      return { ok: false, retryAfter: 1, reason: 'busy' };
    }
    if (this.inFlight >= this.maxInFlight && this.queue.length >= this.maxQueued)
      return { ok: false, retryAfter: 1, reason: 'busy' };
    this.count(address);
    this.busy.add(address);
    let started = false;
    const wait = () =>
      new Promise<void>((resolve) => {
        const go = () => {
          started = true;
          this.inFlight += 1;
          this.checks += 1;
          resolve();
        };
        if (this.inFlight < this.maxInFlight) go();
        else this.queue.push(go);
      });
    const leave = (success: boolean) => {
      this.busy.delete(address);
      if (success) this.forgive(address);
      if (!started) return;
      this.inFlight -= 1;
      this.queue.shift()?.();
    };
    return { ok: true, leave, wait };
  }

  private window(address: string) {
    const w = this.windows.get(address);
    if (w && this.now() - w.start >= this.windowMs) {
      this.windows.delete(address);
      return undefined;
    }
    return w;
  }

  private count(address: string): void {
    const w = this.window(address);
    if (w) w.attempts += 1;
    else this.windows.set(address, { start: this.now(), attempts: 1 });
    if (this.windows.size > 10_000)
      for (const [a, x] of this.windows) if (this.now() - x.start >= this.windowMs) this.windows.delete(a);
  }

  private forgive(address: string): void {
    const w = this.window(address);
    if (w && w.attempts > 0) w.attempts -= 1;
  }
}
