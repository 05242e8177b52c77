import { createHash, randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import { maskSecrets } from '../../protocol/fingerprint.js';

/** The one queue every dashboard works: jobs of sites of shared runs. */
export const SITE_JOBS_QUEUE = 'keyfleet-push-sites';

/**
 * One job: a run and some of its sites, nothing else. Never a key or a secret: a worker reads the
 * run's key versions from the vault (the run's recorded snapshot), as a resume does.
 */
export interface SiteJobData {
  run_id: string;
  /** The run's coordination that queued the job (RunRecord.coordination): a resume makes it stale. */
  coordination: string;
  urls: string[];
}

export interface RunQueueOptions {
  /** The state database (pg-boss keeps its tables in its own schema of it). */
  connectionString: string;
  /** pg-boss's schema, created on start. */
  schema: string;
  /**
   * A job still active this long after it started is taken for lost (its worker died) and given to
   * another worker. Longer than a job's sites normally take: a live worker that overruns it has its
   * job given out again, but each site is claimed by one job at a time (StateStore.claimSite), and a
   * claim is taken over only once older than this.
   */
  expireInSeconds: number;
  /** Jobs this process works at once (0: it only coordinates). */
  workers: number;
  /** How often an idle worker asks for a job (pg-boss's minimum is 0.5 s). */
  pollingIntervalSeconds?: number;
  /** A job that fails (its worker stopped, or crashed) is given out again this many times. */
  retryLimit?: number;
  log: { warn(obj: object, msg: string): void };
}

/** A job as its handler gets it: its data, and a signal that fires before pg-boss would take it back. */
export interface SiteJob {
  id: string;
  data: SiteJobData;
  /** Fires at 80 % of the job's expiry and when this process stops working jobs. */
  signal: AbortSignal;
}

/**
 * The dashboards' shared job queue (DESIGN §3): pg-boss on the state database, in its own schema.
 * pg-boss does the queueing, the locking (SKIP LOCKED), the retries and the expiry of jobs whose
 * worker died; this class only names the queue, chunks a run's sites into jobs, and sends each site
 * that ends to the coordinator over LISTEN/NOTIFY (`siteSettled`, channel `channel`).
 *
 * @example const q = new RunQueue({ connectionString, schema: 'keyfleet_queue', expireInSeconds: 60, workers: 2, log });
 *          await q.start((job) => workSiteJob(job)); const ids = await q.enqueue(run.id, run.coordination, urls, 25);
 */
export class RunQueue {
  /** The LISTEN/NOTIFY channel of this queue's site results, one per queue schema. */
  readonly channel: string;
  private readonly boss: PgBoss;
  private readonly workerIds: string[] = [];
  private readonly stopping = new AbortController();
  private notes: string[] = [];

  constructor(private readonly o: RunQueueOptions) {
    this.channel = `keyfleet_sites_${createHash('sha256').update(o.schema).digest('hex').slice(0, 16)}`;
    this.boss = new PgBoss({
      connectionString: o.connectionString,
      schema: o.schema,
      application_name: 'keyfleet-queue',
      max: Math.max(2, o.workers + 2),
      // Expired jobs are found by pg-boss's maintenance: run it often enough that a dead worker's
      // job is given out again soon after its expiry.
      maintenanceIntervalSeconds: Math.max(1, Math.min(60, Math.round(o.expireInSeconds / 2))),
      schedule: false,
    });
    // pg-boss reports its background errors (a maintenance query that failed) here; it retries itself.
    this.boss.on('error', (err) => o.log.warn({ err: maskSecrets(err.message) }, 'job queue error'));
  }

  /** Creates pg-boss's schema and the queue if needed, then starts `workers` workers on `handler`. */
  async start(handler: (job: SiteJob) => Promise<void>): Promise<void> {
    await this.boss.start();
    await this.boss.createQueue(SITE_JOBS_QUEUE, {
      name: SITE_JOBS_QUEUE,
      retryLimit: this.o.retryLimit ?? 10,
      retryDelay: 1,
      expireInSeconds: this.o.expireInSeconds,
    });
    for (let i = 0; i < this.o.workers; i++) {
      const id = await this.boss.work<SiteJobData>(
        SITE_JOBS_QUEUE,
        { batchSize: 1, pollingIntervalSeconds: this.o.pollingIntervalSeconds ?? 1 },
        async ([job]) => {
          if (!job) return;
          const deadline = AbortSignal.timeout(Math.max(500, job.expireInSeconds * 800));
          const signal = AbortSignal.any([deadline, this.stopping.signal]);
          await handler({ id: job.id, data: job.data, signal });
        },
      );
      this.workerIds.push(id);
    }
  }

  /**
   * Puts a run's sites in the queue, `perJob` sites per job, in order; returns the job ids. This
   * process's idle workers are woken at once (the others find the jobs at their next poll).
   */
  async enqueue(
    runId: string,
    coordination: string,
    urls: readonly string[],
    perJob: number,
  ): Promise<string[]> {
    const jobs: PgBoss.JobInsert<SiteJobData>[] = [];
    for (let i = 0; i < urls.length; i += perJob) {
      jobs.push({
        id: randomUUID(),
        name: SITE_JOBS_QUEUE,
        data: { run_id: runId, coordination, urls: urls.slice(i, i + perJob) },
        expireInSeconds: this.o.expireInSeconds,
      });
    }
    // One statement per thousand jobs (25,000 sites), not one per job.
    for (let i = 0; i < jobs.length; i += 1000) await this.boss.insert(jobs.slice(i, i + 1000));
    for (const id of this.workerIds) this.boss.notifyWorker(id);
    return jobs.map((j) => j.id as string);
  }

  /**
   * How many of `ids`, from `from` on, are settled (completed, cancelled, or failed for good), counted
   * up to the first that is not: jobs are taken in order, so a caller polling with the index it got
   * last time asks about one job most of the time.
   */
  async settledUpTo(ids: readonly string[], from: number): Promise<number> {
    let i = from;
    for (; i < ids.length; i++) {
      const job = await this.boss.getJobById(SITE_JOBS_QUEUE, ids[i] as string, { includeArchive: true });
      if (job && !['completed', 'cancelled', 'failed'].includes(job.state)) break;
    }
    return i;
  }

  /** Takes back the jobs not yet done (a cancelled run); a job being worked ends at its next site. */
  async cancel(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 1000)
      await this.boss.cancel(SITE_JOBS_QUEUE, ids.slice(i, i + 1000));
  }

  /**
   * Tells the run's coordinator, wherever it runs, that a site of the run ended: a NOTIFY with
   * `{"run_id","url"}` (nothing else: the coordinator reads the result from the store). The sites
   * that end in the same turn of the event loop share one statement.
   */
  siteSettled(runId: string, url: string): void {
    this.notes.push(JSON.stringify({ run_id: runId, url }));
    if (this.notes.length === 1) setImmediate(() => void this.flushNotes());
  }

  /** Stops taking jobs; the jobs being worked stop starting sites, finish those in flight, and are given out again. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.boss.stop({ graceful: true, timeout: 30_000 });
  }

  private async flushNotes(): Promise<void> {
    const notes = this.notes;
    this.notes = [];
    try {
      await this.boss
        .getDb()
        .executeSql('SELECT pg_notify($1, n) FROM unnest($2::text[]) AS n', [this.channel, notes]);
    } catch (err) {
      // Only live progress is lost: the coordinator reads every result from the store before the run ends.
      this.o.log.warn(
        { err: maskSecrets((err as Error).message) },
        'could not notify the coordinator of finished sites',
      );
    }
  }
}
