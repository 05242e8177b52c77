import type { Run } from '../../engine/push-run.js';
import type { SiteOutcome, SiteTask } from '../../engine/push-site.js';
import { maskSecrets } from '../../protocol/fingerprint.js';
import { PgChannelListener, DEFAULT_RECONNECT } from '../../store/postgres-channel-listener.js';
import type { StateStore } from '../../store/state-store.js';
import type { RunQueue } from './run-queue.js';
import type { SiteJobWorker } from './site-jobs.js';
import { WatchedRun } from './watched-run.js';

export interface SharedRunsOptions {
  state: StateStore;
  queue: RunQueue;
  worker: SiteJobWorker;
  /** The state database (the LISTEN connection for the coordinator's live progress). */
  connectionString: string;
  /** Sites per job. */
  jobSites: number;
  /** A site claim older than this is its worker's, dead (the job expiry; see SiteJobWorker). */
  claimStaleMs: number;
  /** How often a coordinator reads its run's counts (the run ends when none is pending). */
  pollMs: number;
  /** How often a run followed from this dashboard, but coordinated by another, is read (1 s by default). */
  watchPollMs?: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/**
 * Runs shared by several dashboards on one Postgres (DESIGN §3, "beyond one machine"). The dashboard
 * where a run starts coordinates it: it creates the run and works the canary itself (runPush, as on
 * SQLite), then hands the rest to the pg-boss queue (`distribute`, runPush's hook), `jobSites` sites
 * per job. Every dashboard, the coordinator included, works the queue's jobs (SiteJobWorker). The
 * coordinator then only watches:
 *
 * - its live stream shows each site another dashboard finishes: workers NOTIFY `{run_id, url}` on
 *   the queue's channel, the coordinator reads that site's result from the store and emits it
 *   (before the end, it reads every site it has not heard of, so a lost notification loses nothing);
 * - the failure budget is fleet-wide: once the run's failed rows cross it, the run is halted (the
 *   workers stop starting its sites by the same count) and, once its jobs have stopped, its pending
 *   sites end `skipped`, as in runPush;
 * - the run ends when no site is pending, or when every job has ended with some left (halted, or
 *   jobs that failed on every try), or when this dashboard stops (the run ends `cancelled`).
 *
 * Any other dashboard follows the run live too (`watch`, for its events endpoint): the same
 * notifications, the sites read from the store, the end once the stored state is final.
 */
export class SharedRuns {
  private readonly followers = new Map<string, Follower>();
  private readonly watched = new Map<string, { run: WatchedRun; opened: Promise<void> }>();
  private readonly listener: PgChannelListener;

  constructor(private readonly o: SharedRunsOptions) {
    this.listener = new PgChannelListener({
      clientConfig: { connectionString: o.connectionString, application_name: 'keyfleet-run-progress' },
      channel: o.queue.channel,
      onNotify: (payload) => this.heard(payload),
      onReconnect: async () => {
        await Promise.all([
          ...[...this.followers.values()].map((f) => f.catchUp()),
          ...[...this.watched.values()].map((w) => w.run.catchUp()),
        ]);
      },
      log: (msg) => o.log.warn({}, msg),
      reconnect: DEFAULT_RECONNECT,
      name: 'run progress listener',
    });
  }

  /** Listens for the progress of runs, then starts this process's queue workers. */
  async start(): Promise<void> {
    await this.listener.start();
    await this.o.queue.start((job) => this.o.worker.work(job));
  }

  /** Stops working jobs (those in progress stop starting sites and are given out again), and listening. */
  async stop(): Promise<void> {
    for (const w of [...this.watched.values()]) w.run.close();
    await this.o.queue.stop();
    await this.listener.stop();
  }

  /**
   * A run coordinated by another dashboard, followed live from this one: its stored sites first,
   * then each as it ends, then its end once stored as final (WatchedRun). One per run, whoever follows;
   * it stops reading the run when its last follower leaves.
   */
  async watch(runId: string): Promise<WatchedRun> {
    let w = this.watched.get(runId);
    if (!w) {
      const run = new WatchedRun({
        state: this.o.state,
        runId,
        pollMs: this.o.watchPollMs ?? 1000,
        onClosed: () => {
          if (this.watched.get(runId)?.run === run) this.watched.delete(runId);
        },
        log: this.o.log,
      });
      w = { run, opened: run.open() };
      this.watched.set(runId, w);
    }
    await w.opened;
    return w.run;
  }

  /**
   * runPush's `admit` for a run this dashboard coordinates: claims a canary site as a job's worker
   * does (a worker of the run's previous coordination may still be finishing it after a resume).
   */
  admit(runId: string, coordination: string, url: string, claimant: string): Promise<boolean> {
    return this.o.state.claimSite(runId, url, { coordination, claimant, staleAfterMs: this.o.claimStaleMs });
  }

  /**
   * runPush's `distribute` for a run this dashboard coordinates: queues `tasks` (only their URLs,
   * with the run's current `coordination`: jobs left from an earlier one are dropped) and resolves when none of them can still change. `emit` gets each site worked by any dashboard,
   * once, as it ends.
   */
  async distribute(
    runId: string,
    coordination: string,
    tasks: SiteTask[],
    run: Run,
    emit: (o: SiteOutcome) => void,
  ): Promise<void> {
    const { state, queue, log } = this.o;
    const follower = new Follower(
      state,
      runId,
      tasks.map((t) => t.url),
      emit,
    );
    this.followers.set(runId, follower);
    const budget = run.o.failureBudget;
    try {
      const jobs = await queue.enqueue(runId, coordination, follower.urls, this.o.jobSites);
      log.info(
        { run: runId, sites: tasks.length, jobs: jobs.length },
        'run sites queued for every dashboard',
      );
      let settled = 0;
      let quiet = 0;
      for (let tick = 1; ; tick++) {
        await follower.nap(this.o.pollMs, run.o.signal);
        let summary;
        try {
          summary = (await state.getRun(runId))?.summary;
        } catch (err) {
          // The sites go on being worked and stored elsewhere: the next poll reads them.
          log.warn({ run: runId, err: maskSecrets((err as Error).message) }, 'could not read the run');
          if (!run.cancelled()) continue;
        }
        if (!summary) return;
        const pending = summary.total - summary.ok - summary.failed - summary.skipped - summary.unchanged;
        if (summary.failed > budget && run.reason === null) {
          run.reason = `${summary.failed} sites failed, more than --max-failures allows (${budget})`;
        }
        // Done once every site is final and heard of (a site is announced after its health is written);
        // a notification lost on the way only delays the end by a few polls.
        if (pending === 0 && (follower.allHeard() || ++quiet >= 4)) return;
        if (run.cancelled()) {
          // Jobs not started are taken back; this dashboard's own jobs of the run finish their sites in flight.
          await queue
            .cancel(jobs.slice(settled))
            .catch((err: Error) =>
              log.warn({ run: runId, err: maskSecrets(err.message) }, 'could not take back the run jobs'),
            );
          await this.o.worker.idle(runId);
          return;
        }
        // Jobs are asked about when they must have stopped (halted) and now and then in case they all
        // failed for good, which would otherwise leave the run waiting forever.
        if (pending > 0 && (run.halted() || tick % 10 === 0)) {
          settled = await queue.settledUpTo(jobs, settled).catch((err: Error) => {
            log.warn({ run: runId, err: maskSecrets(err.message) }, 'could not read the run jobs');
            return settled;
          });
          if (settled === jobs.length) {
            run.reason ??= `${pending} sites were left pending: their jobs failed on every try (see the dashboards' logs); retry them in a new run`;
            return;
          }
        }
      }
    } finally {
      await follower
        .catchUp()
        .catch((err: Error) =>
          log.warn({ run: runId, err: maskSecrets(err.message) }, 'could not read the run sites'),
        );
      this.followers.delete(runId);
    }
  }

  private heard(payload: string): void {
    let note: { run_id?: unknown; url?: unknown };
    try {
      note = JSON.parse(payload) as typeof note;
    } catch {
      return;
    }
    if (typeof note.run_id !== 'string' || typeof note.url !== 'string') return;
    this.followers.get(note.run_id)?.heard(note.url);
    this.watched.get(note.run_id)?.run.heard(note.url);
  }
}

/**
 * The coordinator's view of the sites it queued: which have ended and been emitted. Each site is
 * emitted once, when the store first shows it final.
 */
class Follower {
  readonly urls: string[];
  private readonly waiting: Set<string>;
  private asked = new Set<string>();
  private reading: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly state: StateStore,
    private readonly runId: string,
    urls: string[],
    private readonly emit: (o: SiteOutcome) => void,
  ) {
    this.urls = urls;
    this.waiting = new Set(urls);
  }

  /** A worker said the site ended: read it (with the others heard in the next few milliseconds). */
  heard(url: string): void {
    if (!this.waiting.has(url)) return;
    this.asked.add(url);
    this.reading ??= setTimeout(() => {
      this.reading = null;
      const urls = [...this.asked];
      this.asked = new Set();
      this.read(urls).catch(() => this.catchUpLater(urls));
    }, 20);
  }

  /** Whether every queued site has been announced by its worker and emitted. */
  allHeard(): boolean {
    return this.waiting.size === 0;
  }

  /** Reads every site not emitted yet (after a reconnect, and before the run ends). */
  async catchUp(): Promise<void> {
    await this.read([...this.waiting]);
  }

  /** Waits `ms`, or less when the run is cancelled or every queued site has been emitted. */
  nap(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.waiting.size === 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  private catchUpLater(urls: string[]): void {
    for (const u of urls) this.asked.add(u);
  }

  private async read(urls: string[]): Promise<void> {
    if (urls.length === 0) return;
    for (const r of await this.state.siteResults(this.runId, { urls })) {
      if (r.status === 'pending' || !this.waiting.delete(r.url)) continue;
      this.emit({ ...r, changes: r.changes ?? [] });
    }
    if (this.waiting.size === 0) this.wake?.();
  }
}
