import { buildReport } from '../../engine/run-report.js';
import { maskSecrets } from '../../protocol/fingerprint.js';
import type { SiteResult, StateStore } from '../../store/state-store.js';
import { LiveRun, type RunEvent } from './live-run.js';

export interface WatchedRunOptions {
  state: StateStore;
  runId: string;
  /** How often the run's stored state is read while someone follows it. */
  pollMs: number;
  /** Called once nobody follows it any more, or it has ended: the owner forgets it. */
  onClosed: () => void;
  log: { warn(obj: object, msg: string): void };
}

const FINAL = ['ok', 'failed', 'skipped', 'unchanged'] as const;

/**
 * A shared run coordinated by another dashboard, followed live from this one (an operator's browser
 * behind a load balancer can land on any dashboard). Its LiveRun replays the sites already stored,
 * then emits each site as its worker announces it (the same NOTIFY the coordinator listens to; the
 * result is read from the store), and ends, with the report as stored, once the run's stored state
 * is final. The state is read every `pollMs` only while someone follows; a site that ended without
 * an announcement (the coordinator's canary, a lost NOTIFY) is read when the counts show it.
 *
 * @example const w = new WatchedRun({ state, runId, pollMs: 1000, onClosed, log }); await w.open();
 *          const unsubscribe = w.follow(write, lastEventId);
 */
export class WatchedRun {
  readonly live: LiveRun;
  private readonly emitted = new Set<string>();
  private asked = new Set<string>();
  private reading: NodeJS.Timeout | null = null;
  private timer: NodeJS.Timeout | null = null;
  private followers = 0;
  private closed = false;
  private polling = false;
  /** Final sites the last poll counted: still more than emitted at the next poll means one was missed. */
  private lastFinal = 0;

  constructor(private readonly o: WatchedRunOptions) {
    this.live = new LiveRun(o.runId);
  }

  /** Replays what is stored; the run may already be over (then it ends here). */
  async open(): Promise<void> {
    await this.poll();
    if (this.closed) return;
    this.timer = setInterval(() => void this.poll(), this.o.pollMs);
    this.timer.unref();
  }

  /** LiveRun.follow, counted: the last follower leaving stops the polling. */
  follow(listener: (e: RunEvent) => void, afterId = 0): () => void {
    const unsubscribe = this.live.follow(listener, afterId);
    if (this.live.done) return unsubscribe;
    this.followers += 1;
    let left = false;
    return () => {
      unsubscribe();
      if (left) return;
      left = true;
      if (--this.followers === 0) this.close();
    };
  }

  /** A worker said a site of the run ended: read it (with the others heard in the next few ms). */
  heard(url: string): void {
    if (this.closed || this.emitted.has(url)) return;
    this.asked.add(url);
    this.reading ??= setTimeout(() => {
      this.reading = null;
      const urls = [...this.asked];
      this.asked = new Set();
      this.readSites(urls).catch(() => {
        for (const u of urls) this.asked.add(u); // read again with the next one heard, or at the next poll
      });
    }, 20);
  }

  /** Every site not emitted yet (after the listener reconnects: notifications may have been lost). */
  async catchUp(): Promise<void> {
    await this.readSites();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.reading) clearTimeout(this.reading);
    this.o.onClosed();
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const run = await this.o.state.getRun(this.o.runId);
      if (!run) return this.close();
      const s = run.summary;
      const final = s.ok + s.failed + s.skipped + s.unchanged;
      if (run.state !== 'running') {
        const results = await this.o.state.siteResults(run.id, { before: false });
        this.emitSites(results);
        this.live.end({ ...buildReport(run, results), reason: null });
        return this.close();
      }
      // First poll (the replay), or sites the previous poll counted final still not emitted.
      if (this.lastFinal === 0 ? final > 0 : this.emitted.size < this.lastFinal) await this.readSites();
      this.lastFinal = final;
    } catch (err) {
      // The next poll reads it again; followers only wait a little longer.
      this.o.log.warn(
        { run: this.o.runId, err: maskSecrets((err as Error).message) },
        'could not read a followed run',
      );
    } finally {
      this.polling = false;
    }
  }

  /** Reads `urls` (all final sites when not given) and emits those not emitted yet. */
  private async readSites(urls?: string[]): Promise<void> {
    if (this.closed || urls?.length === 0) return;
    const results = await this.o.state.siteResults(this.o.runId, {
      status: [...FINAL],
      before: false,
      ...(urls ? { urls } : {}),
    });
    if (!this.closed) this.emitSites(results);
  }

  private emitSites(results: readonly SiteResult[]): void {
    for (const r of results) {
      if (r.status === 'pending' || this.emitted.has(r.url)) continue;
      this.emitted.add(r.url);
      this.live.emitSite({ ...r, changes: r.changes ?? [] });
    }
  }
}
