import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { runPool } from '../../engine/worker-pool.js';
import { maskSecrets } from '../../protocol/fingerprint.js';
import type { FleetSite } from '../../store/fleet-store.js';

export type BulkAction = 'remove' | 'add_tags' | 'remove_tags' | 'doctor';

/** A bulk job as the API shows it: counts that move while it runs, then what it came to. */
export interface BulkJobView {
  id: string;
  action: BulkAction;
  state: 'running' | 'done';
  total: number;
  done: number;
  failed: number;
  /** Outcomes counted by kind: `removed`, `tagged`, or a doctor's diagnosis code. */
  outcomes: Record<string, number>;
  /** The first failures (site and message, masked), at most 20. */
  errors: Array<{ site: string; message: string }>;
  started_at: string;
  finished_at: string | null;
}

const KEEP_FINISHED = 20;
const MAX_ERRORS = 20;

/**
 * Bulk work over every site matching a filter (issue 11 point 8: "all N matching", not the 50 rows on
 * screen), run in this dashboard's process as a job whose counts the UI polls. Each site's step
 * returns an outcome word or throws; a failure is counted and the job goes on. Jobs live in memory
 * (the last 20 finished are kept): a job is lost with the process, and each step is idempotent, so
 * running it again finishes it.
 *
 * @example const job = jobs.start('remove', sites, 1, async (s) => (await state.fleet.removeSite(s.id), 'removed'));
 */
export class BulkJobs {
  private readonly jobs = new Map<string, BulkJobView>();

  constructor(private readonly log: FastifyBaseLogger) {}

  start(
    action: BulkAction,
    sites: readonly FleetSite[],
    workers: number,
    step: (site: FleetSite) => Promise<string>,
    after?: (job: BulkJobView) => Promise<void>,
  ): BulkJobView {
    const job: BulkJobView = {
      id: `job_${randomBytes(6).toString('hex')}`,
      action,
      state: 'running',
      total: sites.length,
      done: 0,
      failed: 0,
      outcomes: {},
      errors: [],
      started_at: new Date().toISOString(),
      finished_at: null,
    };
    this.jobs.set(job.id, job);
    this.forget();
    void runPool(
      sites,
      workers,
      async (site) => {
        try {
          const outcome = await step(site);
          job.outcomes[outcome] = (job.outcomes[outcome] ?? 0) + 1;
        } catch (err) {
          job.failed += 1;
          if (job.errors.length < MAX_ERRORS)
            job.errors.push({ site: site.url, message: maskSecrets((err as Error).message) });
        }
        job.done += 1;
      },
      () => false,
    )
      .then(() => after?.(job))
      .catch((err: Error) => this.log.error({ job: job.id, err: maskSecrets(err.message) }, 'bulk job failed'))
      .finally(() => {
        job.state = 'done';
        job.finished_at = new Date().toISOString();
      });
    return { ...job };
  }

  get(id: string): BulkJobView | undefined {
    const job = this.jobs.get(id);
    return job && { ...job, outcomes: { ...job.outcomes }, errors: [...job.errors] };
  }

  private forget(): void {
    const finished = [...this.jobs.values()].filter((j) => j.state === 'done');
    for (const j of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(j.id);
  }
}
