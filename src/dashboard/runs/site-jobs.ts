import { setTimeout as sleep } from 'node:timers/promises';
import { parseFailureBudget } from '../../engine/failure-budget.js';
import { Run } from '../../engine/push-run.js';
import { loadStoredBefore, storedBeforeOf } from '../../engine/stored-before.js';
import type { SiteTask } from '../../engine/push-site.js';
import type { SiteClient } from '../../engine/site-client.js';
import { runPool, workersFor } from '../../engine/worker-pool.js';
import { maskSecrets } from '../../protocol/fingerprint.js';
import { newClaimant } from '../../store/run-records.js';
import type { StateStore } from '../../store/state-store.js';
import { skipAwaitingApproval } from './awaiting-approval.js';
import { planFromSnapshot, snapshotOfRun } from './run-plan.js';
import type { SiteJob } from './run-queue.js';
import { siteHealthRecorder } from './site-health-recorder.js';

export interface SiteJobWorkerOptions {
  state: StateStore;
  client: SiteClient;
  /** This dashboard's TEMPLATE_MASTER_API_KEY (every dashboard sharing runs needs the same). */
  masterKey: string | null;
  /** Requests in flight (KEYFLEET_CONCURRENCY): a job works `workersFor(concurrency)` sites at once. */
  concurrency: number;
  log: { warn(obj: object, msg: string): void };
  /** Each site that ended, once its result and its health are stored (the queue tells the run's coordinator). */
  onSettled: (runId: string, url: string) => void;
  /** How often a job re-reads its run while it works: ended elsewhere, resumed, or failures fleet-wide. */
  refreshMs?: number;
  /** A site claimed longer ago than this is its worker's, dead (the job expiry): another job takes it over. */
  claimStaleMs: number;
  /** How often a job asks again for its sites that another job holds (1 s by default). */
  claimRetryMs?: number;
}

/**
 * The worker half of a shared run (DESIGN §3): works one job of the queue — some sites of a run that
 * some dashboard coordinates — through the same per-site engine code as runPush (`workSites`: each
 * site preflighted, its snapshot stored before the first write, written, read back, settled).
 *
 * - Only the job's sites still `pending` are worked: a job given out again after its worker died
 *   skips every site that already has its final result, so nothing is written or counted twice.
 * - The failure budget is fleet-wide: the run's failed rows in the store, re-read every `refreshMs`
 *   and after each failure here. Once it is crossed, or the run has ended, no new site is started.
 * - The keys come from the vault, by the key versions the run recorded (as a resume plans them):
 *   the job itself carries only the run id and URLs.
 * - A job that stops early because this process stops or its time is nearly up throws, so pg-boss
 *   gives it to another worker; the sites it finished are skipped there.
 *
 * - One job per site at a time: a job left from before its run was resumed (its `coordination` is
 *   not the run's any more) is dropped, and each site is claimed in the store before it is touched
 *   (`claimSite`). A site another job holds (an expired job given out while its first worker still
 *   works it, the same sites queued twice) is asked for again every `claimRetryMs` until that job
 *   has finished it, or its claim is older than `claimStaleMs` (that worker died) and is taken over.
 */
export class SiteJobWorker {
  private readonly watches = new Map<string, { watch: RunWatch; users: number }>();
  private readonly busy = new Map<string, Set<Promise<void>>>();

  constructor(private readonly o: SiteJobWorkerOptions) {}

  async work(job: SiteJob): Promise<void> {
    const runId = job.data.run_id;
    const done = this.workJob(job);
    const set = this.busy.get(runId) ?? new Set();
    this.busy.set(runId, set.add(done));
    try {
      await done;
    } catch (err) {
      this.o.log.warn(
        { run: runId, job: job.id, err: maskSecrets((err as Error).message) },
        'a job of a shared run stopped; it will be given out again',
      );
      throw err;
    } finally {
      set.delete(done);
      if (set.size === 0) this.busy.delete(runId);
    }
  }

  /** Resolves once no job of `runId` is being worked by this process. */
  async idle(runId: string): Promise<void> {
    await Promise.allSettled([...(this.busy.get(runId) ?? [])]);
  }

  private async workJob(job: SiteJob): Promise<void> {
    const { state, log } = this.o;
    const run = await state.getRun(job.data.run_id);
    // Ended (done, halted, cancelled, interrupted) or gone: its pending sites are no longer anyone's.
    if (run?.state !== 'running' || run.command !== 'push') return;
    const coordination = job.data.coordination;
    if (run.coordination !== coordination) {
      // Queued before the run was resumed: the resume queued its pending sites again.
      log.warn({ run: run.id, job: job.id }, 'dropped a job of a shared run queued before it was resumed');
      return;
    }
    const pending = await state.siteResults(run.id, { status: ['pending'], urls: job.data.urls });
    if (pending.length === 0) return;
    const budget = parseFailureBudget(String(run.options.max_failures ?? '10%'), run.summary.total);
    if (run.summary.failed > budget) return;
    const snapshot =
      snapshotOfRun(run.options) ??
      (run.key_version_id ? { default: run.key_version_id, others: {} } : undefined);
    if (!snapshot) throw new Error(`Run ${run.id} recorded no key version: its sites cannot be pushed.`);

    const urls = pending.map((r) => r.url);
    // This job's own sites, read now: approval (issue 12) is never judged on an older copy of the fleet.
    const fleet = new Map((await state.fleet.listSites({ refs: urls })).map((s) => [s.url, s]));
    const plan = await planFromSnapshot(state, urls, snapshot, this.o.masterKey, fleet);
    for (const url of await skipAwaitingApproval(state, run.id, pending, plan.tasks))
      this.o.onSettled(run.id, url);
    const watch = this.watch(run.id, coordination, budget);
    const health = siteHealthRecorder(state, plan, run.dry_run, (err) =>
      log.warn({ run: run.id, err: maskSecrets(err.message) }, 'could not record site health'),
    );
    // What the run stored as each site's `before` (a dead worker's sites): outcomes are decided against it.
    const storedBefore = run.dry_run ? undefined : storedBeforeOf(pending);
    const local = new Run({
      runId: run.id,
      storedBefore,
      tasks: plan.tasks,
      client: this.o.client,
      state,
      dryRun: run.dry_run,
      canary: 0,
      failureBudget: budget,
      workers: workersFor(this.o.concurrency),
      signal: job.signal,
      events: {
        site: (outcome) => {
          // The coordinator hears of the site once its health is written too: a run's end (and its
          // safe-to-roll check) then sees everything the run caused.
          void health.record(outcome).then(() => this.o.onSettled(run.id, outcome.url));
          if (outcome.status === 'failed') watch.refresh();
        },
      },
    });
    const stop = () => local.stop() || watch.stopped;
    const claim = { coordination, claimant: newClaimant(), staleAfterMs: this.o.claimStaleMs };
    let held: SiteTask[] = [];
    // Each site start to finish (as runPush's workSites), once this job has claimed it.
    const work = (tasks: readonly SiteTask[]) =>
      runPool(
        tasks,
        local.o.workers,
        async (task) => {
          if (await state.claimSite(run.id, task.url, claim)) await local.settle(await local.workSite(task));
          else held.push(task);
        },
        stop,
      );
    try {
      await work(plan.tasks);
      while (held.length > 0 && !stop()) {
        // Claimed by another job: wait for it to finish them, or for its claim to go stale.
        const heldUrls = held.map((t) => t.url);
        const pendingNow = new Set(
          (await state.siteResults(run.id, { status: ['pending'], urls: heldUrls, before: false })).map(
            (r) => r.url,
          ),
        );
        const again = held.filter((t) => pendingNow.has(t.url));
        held = [];
        if (again.length === 0) break;
        await sleep(this.o.claimRetryMs ?? 1000, undefined, { signal: job.signal }).catch(() => undefined);
        if (job.signal.aborted) break;
        // Their worker may have stored a `before` since this job read them (then died: its claim went stale).
        if (storedBefore) {
          const more = await loadStoredBefore(
            state,
            run.id,
            again.map((t) => t.url),
          );
          for (const [url, before] of more) storedBefore.set(url, before);
        }
        await work(again);
      }
    } finally {
      await health.settled();
      this.unwatch(run.id, coordination);
    }
    if (job.signal.aborted && !watch.stopped && !local.halted()) {
      const left = await state.siteResults(run.id, { status: ['pending'], urls });
      if (left.length > 0) {
        throw new Error(`this dashboard stopped the job with ${left.length} of its sites not worked`);
      }
    }
  }

  /** One watch per run and coordination in this process, shared by its jobs. */
  private watch(runId: string, coordination: string, budget: number): RunWatch {
    const key = `${runId} ${coordination}`;
    let w = this.watches.get(key);
    if (!w) {
      const watch = new RunWatch(this.o.state, runId, coordination, budget, this.o.refreshMs ?? 1000);
      w = { watch, users: 0 };
      this.watches.set(key, w);
    }
    w.users += 1;
    return w.watch;
  }

  private unwatch(runId: string, coordination: string): void {
    const key = `${runId} ${coordination}`;
    const w = this.watches.get(key);
    if (w && --w.users === 0) {
      w.watch.close();
      this.watches.delete(key);
    }
  }
}

/**
 * Whether a shared run still takes new sites, as the store says: it is `running` under the same
 * coordination (not resumed since) and its failed sites, fleet-wide, have not crossed its budget. Re-read on a timer and on demand, one read at a time.
 */
class RunWatch {
  stopped = false;
  private reading = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly state: StateStore,
    private readonly runId: string,
    private readonly coordination: string,
    private readonly budget: number,
    refreshMs: number,
  ) {
    this.timer = setInterval(() => this.refresh(), refreshMs);
    this.timer.unref();
  }

  refresh(): void {
    if (this.reading || this.stopped) return;
    this.reading = true;
    this.state
      .getRun(this.runId)
      .then((run) => {
        if (
          run?.state !== 'running' ||
          run.coordination !== this.coordination ||
          run.summary.failed > this.budget
        )
          this.stopped = true;
      })
      .catch(() => undefined) // a failed read changes nothing; the next one decides
      .finally(() => (this.reading = false));
  }

  close(): void {
    clearInterval(this.timer);
  }
}
