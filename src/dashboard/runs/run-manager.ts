import type { FastifyBaseLogger } from 'fastify';
import { parseFailureBudget } from '../../engine/failure-budget.js';
import { runPush, type PushRunResult } from '../../engine/push-run.js';
import type { SiteOutcome } from '../../engine/push-site.js';
import { buildReport } from '../../engine/run-report.js';
import type { SiteClient } from '../../engine/site-client.js';
import { workersFor } from '../../engine/worker-pool.js';
import { maskSecrets } from '../../protocol/fingerprint.js';
import { newClaimant, workerName } from '../../store/run-records.js';
import type { RunRecord, StateStore } from '../../store/state-store.js';
import { DashboardError } from '../errors.js';
import { LiveRun } from './live-run.js';
import { skipAwaitingApproval } from './awaiting-approval.js';
import { planFromSnapshot, snapshotOfRun, type FleetRunPlan } from './run-plan.js';
import type { SharedRuns } from './shared-runs.js';
import { siteHealthRecorder } from './site-health-recorder.js';

export type RunTrigger = 'admin' | 'register' | 'confirm' | 'retry_failed' | 'reconcile';

export interface StartRun {
  actor: string;
  dryRun: boolean;
  plan: FleetRunPlan;
  canary: number;
  /** `--max-failures` syntax: a count or a percentage. */
  maxFailures: string;
  trigger: RunTrigger;
  /** The run this one confirms or retries. */
  of?: string;
  selection?: { tags?: string[]; sites?: string[]; drifted_only?: boolean };
}

export interface RunManagerOptions {
  state: StateStore;
  client: SiteClient;
  masterKey: string | null;
  concurrency: number;
  log: FastifyBaseLogger;
  /** Called after every run ends (the safe-to-roll check hangs here). */
  onFinished?: (run: RunRecord) => Promise<void>;
  /**
   * Postgres: the sites after the canary go to every dashboard through the job queue (shared-runs.ts),
   * and this dashboard beats for the runs it coordinates, every `heartbeatMs`, so that another one
   * starting (or sweeping, at the same pace) does not take them for interrupted; it marks those whose
   * coordinator's heartbeat is older than `staleAfterMs`.
   */
  shared?: { runs: SharedRuns; heartbeatMs: number; staleAfterMs: number };
}

/** A preview's budget: it never halts on failures. */
const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** The engine speaks the CLI's words; the console names the failure budget, never a flag. */
export function inConsoleWords(text: string): string {
  return text.replaceAll('--max-failures', 'the failure budget');
}

/** Finished runs whose events stay in memory for late subscribers (older ones replay from the store). */
const KEEP_FINISHED = 50;

/**
 * Runs pushes in the background for the dashboard, through the one push pipeline (`runPush`), and
 * fans each run's events out to its subscribers (LiveRun). Every site result is persisted by
 * runPush as it happens; if this process dies mid-run, the next start marks the run `interrupted`
 * and `resume` finishes exactly the sites still pending.
 */
export class RunManager {
  private readonly live = new Map<string, LiveRun>();
  private readonly active = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly beat: NodeJS.Timeout | undefined;

  constructor(private readonly o: RunManagerOptions) {
    if (o.shared) {
      this.beat = setInterval(() => void this.heartbeat(), o.shared.heartbeatMs);
      this.beat.unref();
    }
  }

  /** Whether runs are shared with other dashboards through the Postgres queue. */
  get shared(): boolean {
    return this.o.shared !== undefined;
  }

  liveRun(id: string): LiveRun | undefined {
    return this.live.get(id);
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /**
   * Whether the run's events can be followed live from here: this dashboard runs it, or (Postgres)
   * another dashboard coordinates it and this one watches it through the store (`watch`).
   */
  followsLive(run: RunRecord): boolean {
    return this.active.has(run.id) || (this.o.shared !== undefined && run.state === 'running');
  }

  /**
   * The live events of a shared run that another dashboard coordinates (see SharedRuns.watch);
   * undefined on SQLite, where only the process running a run streams it.
   */
  async watch(run: RunRecord): Promise<Pick<LiveRun, 'follow'> | undefined> {
    if (!this.o.shared || run.state !== 'running') return undefined;
    return this.o.shared.runs.watch(run.id);
  }

  /** Resolves when the run (if this process runs it) has ended and its end event is out. */
  async settled(id: string): Promise<void> {
    await this.active.get(id)?.done;
  }

  async start(s: StartRun): Promise<RunRecord> {
    // A preview writes nothing and checks every site: the failure budget is the real push's (issue 11).
    // Checked even for a preview: a budget the push could not use is said now, not at confirm time.
    const pushBudget = this.budget(s.maxFailures, s.plan.tasks.length);
    const budget = s.dryRun ? UNLIMITED : pushBudget;
    const run = await this.o.state.createRun({
      command: 'push',
      dry_run: s.dryRun,
      actor: s.actor,
      sites_source: null,
      keys: s.plan.keys,
      options: {
        origin: 'dashboard',
        trigger: s.trigger,
        of: s.of ?? null,
        ...s.selection,
        canary: s.canary,
        max_failures: s.maxFailures,
        desired: s.plan.snapshot,
      },
      key_version_id: s.plan.versionId,
      sites: s.plan.tasks.map((t) => t.url),
    });
    this.launch(run, s.plan, s.dryRun, s.canary, budget);
    return run;
  }

  /** Finishes an interrupted or cancelled run: only its pending sites, with the keys it started with. */
  async resume(id: string): Promise<RunRecord> {
    const run = await this.o.state.getRun(id);
    if (!run) throw new DashboardError('run_not_found');
    if (this.active.has(id))
      throw new DashboardError('run_state_conflict', `Run ${id} is running in this dashboard.`);
    if (run.command !== 'push' || !['interrupted', 'cancelled'].includes(run.state)) {
      throw new DashboardError(
        'run_state_conflict',
        `Run ${id} is ${run.state}: only an interrupted or cancelled push can be resumed.`,
      );
    }
    const snapshot =
      snapshotOfRun(run.options) ??
      (run.key_version_id ? { default: run.key_version_id, others: {} } : undefined);
    if (!snapshot)
      throw new DashboardError('run_state_conflict', `Run ${id} recorded no key version to resume with.`);
    const pending = await this.o.state.siteResults(id, { status: ['pending'] });
    const plan = await planFromSnapshot(
      this.o.state,
      pending.map((r) => r.url),
      snapshot,
      this.o.masterKey,
    );
    let reopened: RunRecord;
    try {
      reopened = await this.o.state.reopenRun(id);
    } catch (err) {
      throw new DashboardError('run_state_conflict', (err as Error).message);
    }
    // A site that waits for approval since the run stopped is sent nothing: skipped, saying why.
    await skipAwaitingApproval(this.o.state, id, pending, plan.tasks);
    const canary = Number(run.options.canary ?? 0);
    const budget = run.dry_run
      ? UNLIMITED
      : this.budget(String(run.options.max_failures ?? '10%'), run.summary.total);
    this.launch(reopened, plan, run.dry_run, Number.isInteger(canary) ? canary : 0, budget);
    return reopened;
  }

  /**
   * Stops a run this dashboard runs: no new site starts, sites in flight finish, the rest stay
   * pending and the run ends `cancelled` (resumable). On a shared Postgres run, the jobs other
   * dashboards have not started are taken back; sites they are working on finish. Resolves as soon
   * as the run is told to stop (`settled(id)` waits for its end). A run another dashboard
   * coordinates is refused: only its coordinator can stop it.
   */
  async cancel(id: string): Promise<void> {
    const a = this.active.get(id);
    if (!a) {
      const run = await this.o.state.getRun(id);
      if (!run) throw new DashboardError('run_not_found');
      throw new DashboardError(
        'run_state_conflict',
        run.state === 'running'
          ? `Run ${id} is run by another process (another dashboard, or the CLI): cancel it there (Ctrl-C stops a CLI push).`
          : `Run ${id} is ${run.state}: only a running run can be cancelled.`,
      );
    }
    a.abort.abort();
  }

  /** Cancels every run in progress (each ends `cancelled`, resumable) and waits for them. */
  async close(): Promise<void> {
    clearInterval(this.beat);
    for (const a of this.active.values()) a.abort.abort();
    await Promise.all([...this.active.values()].map((a) => a.done));
  }

  private budget(maxFailures: string, sites: number): number {
    try {
      return parseFailureBudget(maxFailures, sites);
    } catch (err) {
      throw new DashboardError('invalid_request', `max_failures: ${inConsoleWords((err as Error).message)}`);
    }
  }

  private launch(
    run: RunRecord,
    plan: FleetRunPlan,
    dryRun: boolean,
    canary: number,
    failureBudget: number,
  ): void {
    const live = new LiveRun(run.id);
    this.remember(live);
    if (this.o.shared) void this.heartbeat([run.id]);
    const abort = new AbortController();
    const done = this.execute(run, plan, dryRun, canary, failureBudget, live, abort.signal).finally(() =>
      this.active.delete(run.id),
    );
    this.active.set(run.id, { abort, done });
  }

  private async execute(
    run: RunRecord,
    plan: FleetRunPlan,
    dryRun: boolean,
    canary: number,
    failureBudget: number,
    live: LiveRun,
    signal: AbortSignal,
  ): Promise<void> {
    const { state, log, shared } = this.o;
    const health = siteHealthRecorder(state, plan, dryRun, (err) =>
      log.warn({ run: run.id, err: maskSecrets(err.message) }, 'could not record site health'),
    );
    const onSite = (o: SiteOutcome) => {
      // Worked here: the store records it under this process's name (migration 8), the live event says so too.
      live.emitSite({ ...o, worker: o.worker ?? workerName() });
      health.record(o);
    };
    let result: PushRunResult | undefined;
    const claimant = newClaimant();
    try {
      result = await runPush({
        runId: run.id,
        tasks: plan.tasks,
        client: this.o.client,
        state,
        dryRun,
        canary,
        failureBudget,
        workers: workersFor(this.o.concurrency),
        signal,
        events: { phase: (p, n) => live.emitPhase(p, n), site: onSite },
        // Sites worked by the queue's workers record their own health; here they are only shown.
        admit: shared
          ? (task) => shared.runs.admit(run.id, run.coordination ?? '', task.url, claimant)
          : undefined,
        distribute: shared
          ? (tasks, r) =>
              // A new coordination for each create and reopen (migration 5): jobs queued before a resume are dropped.
              shared.runs.distribute(run.id, run.coordination ?? '', tasks, r, (o) => live.emitSite(o))
          : undefined,
      });
    } catch (err) {
      log.error({ run: run.id, err: maskSecrets((err as Error).message) }, 'run failed');
    }
    await health.settled();
    live.reason = result
      ? result.reason && inConsoleWords(result.reason)
      : 'the run stopped on an internal error (see the dashboard log); resume it';
    try {
      // An internal error ends the run cancelled: its pending sites stay pending, so it can be resumed.
      const finished = await state.finishRun(run.id, result?.state ?? 'cancelled');
      // Before the end event: whoever watched the run to its end then sees everything it caused.
      await this.o
        .onFinished?.(finished)
        .catch((err: Error) =>
          log.error({ run: run.id, err: maskSecrets(err.message) }, 'after-run check failed'),
        );
      const results = await state.siteResults(run.id);
      live.end({ ...buildReport(finished, results), reason: live.reason });
    } catch (err) {
      log.error({ run: run.id, err: maskSecrets((err as Error).message) }, 'could not finish the run');
    }
  }

  /**
   * Shared runs: says this dashboard still coordinates its runs, then marks interrupted the runs whose
   * coordinator stopped beating (died on another machine), as a start-up does.
   */
  private async heartbeat(ids = [...this.active.keys()]): Promise<void> {
    const { state, log, shared } = this.o;
    if (!shared) return;
    try {
      await state.heartbeat(ids);
      for (const id of await state.markInterrupted({ staleAfterMs: shared.staleAfterMs })) {
        log.warn({ run: id }, `run ${id} was interrupted (its dashboard stopped); resume it`);
      }
    } catch (err) {
      log.warn({ err: maskSecrets((err as Error).message) }, 'run heartbeat failed');
    }
  }

  private remember(live: LiveRun): void {
    this.live.set(live.runId, live);
    const finished = [...this.live.values()].filter((l) => l.done && !this.active.has(l.runId));
    for (const old of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED)))
      this.live.delete(old.runId);
  }
}
