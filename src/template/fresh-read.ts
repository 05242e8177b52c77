/**
 * Runs `read` so that every caller gets the result of a run that *started after it called*, while
 * concurrent callers share runs: at most one run in flight and one queued behind it. Under load
 * this is one database round trip per round-trip time, whatever the request rate.
 *
 * @example const check = new FreshRead(() => store.generation()); await check.run();
 */
export class FreshRead<T> {
  private running: Promise<T> | null = null;
  private queued: Promise<T> | null = null;

  constructor(private readonly read: () => Promise<T>) {}

  run(): Promise<T> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    // The run in flight started before this call: it may miss a write this caller already saw.
    const after = this.running.then(
      () => undefined,
      () => undefined,
    );
    this.queued = after.then(() => {
      this.queued = null;
      return this.start();
    });
    return this.queued;
  }

  private start(): Promise<T> {
    // Async so that a synchronous throw becomes a rejection like any other failed read.
    const p = (async () => this.read())();
    this.running = p;
    const clear = () => {
      if (this.running === p) this.running = null;
    };
    p.then(clear, clear);
    return p;
  }
}
