import type { RunState, SiteSnapshot, StateStore } from '../store/state-store.js';
import {
  failedOutcome,
  preflightSite,
  pushSite,
  Tally,
  type SiteOutcome,
  type SiteTask,
} from './push-site.js';
import { RecordBatcher } from './record-batcher.js';
import type { SiteClient } from './site-client.js';
import { changesNeeded } from './site-state.js';
import { againstStoredBefore, loadStoredBefore, type StoredBefore } from './stored-before.js';
import { runPool } from './worker-pool.js';

export type Phase = 'preflight' | 'canary' | 'push';

export interface PushRunEvents {
  phase?(phase: Phase, sites: number): void;
  /** A site reached its final status (preflight failures, unchanged, pushed, failed). */
  site?(outcome: SiteOutcome): void;
  /** A site passed the fleet-wide preflight and waits for its push (progress only, `preflightAll`). */
  preflighted?(url: string): void;
}

export interface PushRunOptions {
  runId: string;
  tasks: SiteTask[];
  client: SiteClient;
  state: StateStore;
  dryRun: boolean;
  /** Sites pushed and verified first, one by one; any failure halts the run. */
  canary: number;
  /** Failed sites tolerated; one more halts the run (`--max-failures`, already resolved to a count). */
  failureBudget: number;
  /** Sites worked on at once; requests in flight are capped separately by the client. */
  workers: number;
  /**
   * `--preflight-all`: preflight every site before the canary, so a fleet that is broadly unreachable
   * (or refuses the key) halts before any site is written. Costs a second connection per site.
   */
  preflightAll?: boolean;
  signal?: AbortSignal;
  events?: PushRunEvents;
  /**
   * Works the sites after the canary (a dry run: every site) instead of this process's own pool: the
   * dashboard on Postgres hands them to several dashboards through a job queue (dashboard/runs/
   * shared-run.ts), whose workers run them through `workSites` too. Resolves once none of them can
   * still change; sets `run.reason` to halt the run (its pending sites then end `skipped`).
   */
  distribute?: (tasks: SiteTask[], run: Run) => Promise<void>;
  /**
   * With `distribute`: asked before a canary site is worked here. False means another worker holds
   * the site (a shared run's claim, see dashboard/runs/site-jobs.ts): it is not a canary, and goes
   * to `distribute` with the rest, whose workers wait for it.
   */
  admit?: (task: SiteTask) => Promise<boolean>;
  /**
   * What each site held before this run touched it, as the run stored it (stored-before.ts): a site's
   * outcome is decided against it, so a site written by a worker that died before storing its result
   * is `ok` with its changes, not `unchanged`. runPush reads it from the store when not given (a
   * resumed run has some; a new one none); a dry run ignores it.
   */
  storedBefore?: StoredBefore;
}

export interface PushRunResult {
  state: Exclude<RunState, 'running' | 'interrupted'>;
  /** Why a halted run stopped, for the operator. */
  reason: string | null;
}

/**
 * The push pipeline (DESIGN §2). Every site is preflighted (reachable, key accepted, what it holds
 * now), what it holds is recorded before anything is written to it (a rollback restores it), then
 * it is written and read back (pk by value, secrets by fingerprint). The canary sites go first, one
 * by one, and any failure among them halts the run before the rest of the fleet is touched; the
 * rest follow with bounded concurrency until done or the failure budget is crossed.
 *
 * By default each site after the canary is worked start to finish on one connection; with
 * `preflightAll` every site is preflighted before the canary. Every result is persisted as it
 * happens (group commit), so a killed run resumes without losing or double-counting a site.
 * A dry run preflights every site and reports what would change; it writes nothing.
 */
export async function runPush(options: PushRunOptions): Promise<PushRunResult> {
  const o: PushRunOptions = options.dryRun
    ? options
    : {
        ...options,
        storedBefore: options.storedBefore ?? (await loadStoredBefore(options.state, options.runId)),
      };
  const run = new Run(o);
  if (o.dryRun) {
    o.events?.phase?.('preflight', o.tasks.length);
    await (o.distribute ? o.distribute(o.tasks, run) : workSites(run, o.tasks));
  } else if (o.preflightAll === true) {
    await preflightEverySiteFirst(run);
  } else {
    await canaryThenEachSite(run);
  }
  // Sites never started because the run halted are skipped; after a cancel they stay pending (resumable).
  if (run.halted()) await skipPending(o);
  await o.state.rememberProtocols(run.detected);
  return {
    state: run.halted() ? 'halted' : run.cancelled() ? 'cancelled' : 'done',
    reason: run.reason,
  };
}

/** Canary sites one by one (a site whose preflight fails is not a canary), then the rest, each site start to finish. */
async function canaryThenEachSite(run: Run): Promise<void> {
  const { o } = run;
  let next = 0;
  if (o.canary > 0) o.events?.phase?.('canary', Math.min(o.canary, o.tasks.length));
  const held: SiteTask[] = [];
  for (let canaries = 0; canaries < o.canary && next < o.tasks.length && !run.stop();) {
    const task = o.tasks[next++] as SiteTask;
    if (o.distribute && o.admit && !(await o.admit(task))) {
      held.push(task);
      continue;
    }
    const outcome = await run.workSite(task);
    await run.settle(outcome);
    // Not reached at all: counts against the budget, proves nothing; the next site becomes the canary.
    if (outcome.before === null && unreachable(outcome)) continue;
    // A rollback that could not put back a seed site's secret restored the rest: not a canary verdict.
    if (outcome.error?.code === 'seed_secret_not_restorable') continue;
    canaries += 1;
    if (outcome.status === 'failed') run.reason ??= `canary ${task.url} failed (${outcome.error?.code})`;
  }
  const rest = held.length > 0 ? [...held, ...o.tasks.slice(next)] : o.tasks.slice(next);
  if (rest.length > 0 && !run.stop()) o.events?.phase?.('push', rest.length);
  if (o.distribute && rest.length > 0 && !run.stop()) await o.distribute(rest, run);
  else await workSites(run, rest);
}

/**
 * Works `tasks` under `run`, each start to finish (`workSite`, then `settle`), with at most
 * `run.o.workers` at once, until done or `stop()` (by default: the run halted or was cancelled).
 * runPush's own pool; a dashboard that shares a run works a job's sites the same way, each once it
 * has claimed it (site-jobs.ts).
 *
 * @example await workSites(new Run({ ...options, canary: 0 }), tasks, () => run.stop() || fleetHalted());
 */
export async function workSites(
  run: Run,
  tasks: readonly SiteTask[],
  stop: () => boolean = run.stop,
): Promise<void> {
  await runPool(tasks, run.o.workers, async (task) => run.settle(await run.workSite(task)), stop);
}

/** `preflightAll`: preflight every site (its snapshot recorded), then canary, then the rest. */
async function preflightEverySiteFirst(run: Run): Promise<void> {
  const { o } = run;
  o.events?.phase?.('preflight', o.tasks.length);
  const ready: Array<{ task: SiteTask; before: SiteSnapshot; prior: Prior }> = [];
  await runPool(
    o.tasks,
    o.workers,
    async (task) => {
      const tally = new Tally();
      try {
        // Sites wait between preflight and push: their connections are not kept open meanwhile.
        const before = await preflightSite(o.client, task, tally, { close: true });
        const prior = { attempts: tally.attempts, ms: tally.ms };
        await run.recordBefore(task, o.storedBefore?.get(task.url) ?? before, tally);
        ready.push({ task, before, prior });
        o.events?.preflighted?.(task.url);
      } catch (err) {
        await run.settle(failedOutcome(task.url, err, tally, null));
      } finally {
        o.client.release(task.url);
      }
    },
    run.stop,
  );
  if (run.stop()) return;
  // A canary candidate refused (key, protocol, …) — not merely unreachable — halts like a canary.
  const refused = await firstRefusedCandidate(run, new Set(ready.map((r) => r.task.url)));
  if (refused !== null) {
    run.reason ??= `canary ${refused.url} failed (${refused.error?.code})`;
    return;
  }

  // Keep the inventory's order (the pool finishes out of order): the canary is the first site listed.
  const order = new Map(o.tasks.map((t, i) => [t.url, i]));
  ready.sort((a, b) => (order.get(a.task.url) ?? 0) - (order.get(b.task.url) ?? 0));
  const push = async ({ task, before, prior }: (typeof ready)[number]) => {
    try {
      const outcome = await pushSite(o.client, task, before, false);
      return withPrior(againstStoredBefore(outcome, task.desired, o.storedBefore?.get(task.url)), prior);
    } finally {
      o.client.release(task.url);
    }
  };
  const canaries = ready.slice(0, o.canary);
  if (canaries.length > 0) o.events?.phase?.('canary', canaries.length);
  for (const site of canaries) {
    if (run.cancelled()) break;
    const outcome = await push(site);
    await run.settle(outcome);
    if (outcome.status === 'failed') {
      run.reason ??= `canary ${site.task.url} failed (${outcome.error?.code})`;
      break;
    }
  }
  const rest = ready.slice(o.canary);
  if (rest.length > 0 && !run.stop()) o.events?.phase?.('push', rest.length);
  await runPool(rest, o.workers, async (site) => run.settle(await push(site)), run.stop);
}

/**
 * One run's bookkeeping: results persisted in group commits, the failure budget, halt and cancel.
 * Exported for the processes that share a run's sites (`workSites`): each has its own Run over the
 * same run id; the budget it counts is its own share, the fleet-wide one is the store's count.
 */
export class Run {
  readonly records: RecordBatcher;
  reason: string | null = null;
  /** Protocols detected on the sites worked (state migration 6 remembers them for the next run). */
  readonly detected: Array<{ url: string; protocol: 'keyfleet' | 'seed' }> = [];
  private failed = 0;

  constructor(readonly o: PushRunOptions) {
    this.records = new RecordBatcher(o.state, o.runId);
  }

  halted = (): boolean => this.reason !== null;
  cancelled = (): boolean => this.o.signal?.aborted === true;
  stop = (): boolean => this.halted() || this.cancelled();

  /** What a site holds before anything is written to it (still `pending`): a rollback restores it. */
  recordBefore(task: SiteTask, before: SiteSnapshot, tally: Tally): Promise<void> {
    return this.records.add({
      url: task.url,
      status: 'pending',
      verified: false,
      attempts: tally.attempts,
      duration_ms: tally.ms,
      error: null,
      before,
    });
  }

  /** Persists a final result, then reports it and counts it against the failure budget. */
  async settle(outcome: SiteOutcome): Promise<void> {
    await this.records.add(outcome);
    if (outcome.protocol !== undefined) this.detected.push({ url: outcome.url, protocol: outcome.protocol });
    this.o.events?.site?.(outcome);
    // A rollback that could not put back a seed site's unknown secret sent nothing wrong: not a failure of the wire.
    const counts = outcome.status === 'failed' && outcome.error?.code !== 'seed_secret_not_restorable';
    if (counts && ++this.failed > this.o.failureBudget && this.reason === null) {
      this.reason = `${this.failed} sites failed, more than --max-failures allows (${this.o.failureBudget})`;
    }
  }

  /**
   * One site start to finish on one connection: preflight, its snapshot made durable before the
   * first write, the writes, the read-back. Never throws for a site's failure.
   */
  async workSite(task: SiteTask): Promise<SiteOutcome> {
    const { client, dryRun } = this.o;
    const tally = new Tally();
    try {
      let before: SiteSnapshot;
      try {
        before = await preflightSite(client, task, tally);
      } catch (err) {
        return failedOutcome(task.url, err, tally, null);
      }
      if (dryRun) return await pushSite(client, task, before, dryRun, tally);
      const stored = this.o.storedBefore?.get(task.url);
      if (changesNeeded(task.desired, before).length > 0)
        await this.recordBefore(task, stored ?? before, tally);
      // Decided against the run's own stored `before`: a site it already wrote is `ok`, not `unchanged`.
      return againstStoredBefore(await pushSite(client, task, before, dryRun, tally), task.desired, stored);
    } finally {
      client.release(task.url);
    }
  }
}

/**
 * Issue 11: only a site that cannot be reached at all is stepped over for the next canary. A key
 * refused, a protocol or value not understood, a verify mismatch can be fleet-wide: they halt.
 */
const UNREACHABLE = new Set(['timeout', 'connection_refused', 'connection_reset', 'dns_not_found', 'tls_error', 'bad_gateway', 'service_unavailable', 'gateway_timeout', 'too_many_open_files']);

export function unreachable(outcome: SiteOutcome): boolean {
  return outcome.status === 'failed' && outcome.error !== null && UNREACHABLE.has(outcome.error.code);
}

/** `preflightAll`: the first site, in inventory order, whose preflight failed for a reason that can be fleet-wide, among those before the canaries. */
async function firstRefusedCandidate(run: Run, ready: ReadonlySet<string>): Promise<SiteOutcome | null> {
  const { o } = run;
  if (o.canary <= 0) return null;
  const failed = new Map((await o.state.siteResults(o.runId, { status: ['failed'], before: false })).map((r) => [r.url, r]));
  let canaries = 0;
  for (const task of o.tasks) {
    if (canaries >= o.canary) break;
    if (ready.has(task.url)) {
      canaries += 1;
      continue;
    }
    const r = failed.get(task.url);
    if (r && !unreachable({ ...r, changes: [] })) return { ...r, changes: [] };
  }
  return null;
}

interface Prior {
  attempts: number;
  ms: number;
}

function withPrior(outcome: SiteOutcome, prior: Prior): SiteOutcome {
  return {
    ...outcome,
    attempts: outcome.attempts + prior.attempts,
    duration_ms: outcome.duration_ms + prior.ms,
  };
}

async function skipPending(o: PushRunOptions): Promise<void> {
  for (const r of await o.state.siteResults(o.runId, { status: ['pending'] })) {
    const outcome: SiteOutcome = { ...r, status: 'skipped', changes: [] };
    await o.state.recordSite(o.runId, outcome);
    o.events?.site?.(outcome);
  }
}
