import type { SiteResult, StateStore } from '../store/state-store.js';

interface Waiting {
  result: SiteResult;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Group commit for a run's per-site records. `add` resolves once the record is stored, so a site
 * never moves on (writes to the site, reports its result) before its record is in the database; the
 * records that arrive in the same turn of the event loop, or while one transaction is written, share
 * the next one: one transaction per batch instead of one per record.
 */
export class RecordBatcher {
  private queue: Waiting[] = [];
  private writing = false;

  constructor(
    private readonly state: StateStore,
    private readonly runId: string,
    private readonly maxBatch = 1000,
  ) {}

  add(result: SiteResult): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ result, resolve, reject });
      if (!this.writing) {
        this.writing = true;
        // Let the rest of this turn's results join before the first transaction.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await this.state.recordSites(
          this.runId,
          batch.map((w) => w.result),
        );
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.writing = false;
  }
}
