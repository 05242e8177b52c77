import type { SettingName } from '../protocol/settings.js';
import type { RunState, SiteResult, SiteSnapshot, StateStore } from '../store/state-store.js';
import { failedOutcome, preflightSite, pushSite, Tally, type SiteOutcome, type SiteTask } from './push-site.js';
import type { SiteClient } from './site-client.js';
import { runPool } from './worker-pool.js';

export type Phase = 'preflight' | 'canary' | 'push';

export interface PushRunEvents {
  phase?(phase: Phase, sites: number): void;
  /** A site reached its final status (preflight failures, unchanged, pushed, failed). */
  site?(outcome: SiteOutcome): void;
  /** A site passed preflight and waits for its push (progress only). */
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
  signal?: AbortSignal;
  events?: PushRunEvents;
}

export interface PushRunResult {
  state: Exclude<RunState, 'running' | 'interrupted'>;
  /** Why a halted run stopped, for the operator. */
  reason: string | null;
  /** Settings written (or, dry-run, to be written) per site, for the report. */
  changes: Map<string, SettingName[]>;
}

/**
 * The push pipeline (DESIGN §2): preflight every site (reachable, key accepted, what it holds now —
 * recorded for rollback) → canary → the rest with bounded concurrency, each site verified right after
 * its writes. Every site's result is persisted as it happens, so a killed run resumes without losing
 * or double-counting a site. Dry run: the preflight pass only, reporting what would change.
 */
export async function runPush(o: PushRunOptions): Promise<PushRunResult> {
  const changes = new Map<string, SettingName[]>();
  let failed = 0;
  let reason: string | null = null;
  const halted = () => reason !== null;
  const cancelled = () => o.signal?.aborted === true;
  const stop = () => halted() || cancelled();

  const settle = async (outcome: SiteOutcome) => {
    if (outcome.changes.length > 0) changes.set(outcome.url, outcome.changes);
    await o.state.recordSite(o.runId, outcome);
    o.events?.site?.(outcome);
    if (outcome.status === 'failed' && ++failed > o.failureBudget && reason === null) {
      reason = `${failed} sites failed, more than --max-failures allows (${o.failureBudget})`;
    }
  };

  // 1. Preflight every site; keep what each holds for the push.
  o.events?.phase?.('preflight', o.tasks.length);
  // The preflight's requests and time belong to the site's totals too.
  const ready: Array<{ task: SiteTask; before: SiteSnapshot; prior: Prior }> = [];
  // What each site held is persisted in batches: nothing has been written to any site during this
  // phase, so a crash loses nothing a resume's fresh preflight would not read again.
  const pendingRecords: SiteResult[] = [];
  const flush = async () => {
    if (pendingRecords.length > 0) await o.state.recordSites(o.runId, pendingRecords.splice(0));
  };
  await runPool(o.tasks, o.workers, async (task) => {
    const tally = new Tally();
    try {
      // Sites wait between preflight and push: their connections are not kept open meanwhile.
      const before = await preflightSite(o.client, task, tally, { close: true });
      const prior = { attempts: tally.attempts, ms: tally.ms };
      if (o.dryRun) return settle(withPrior(await pushSite(o.client, task, before, true), prior));
      ready.push({ task, before, prior });
      o.events?.preflighted?.(task.url);
      pendingRecords.push({ url: task.url, status: 'pending', verified: false, attempts: tally.attempts, duration_ms: tally.ms, error: null, before });
      if (pendingRecords.length >= 500) await flush();
    } catch (err) {
      await settle(failedOutcome(task.url, err, tally, null));
    }
  }, stop);
  await flush();

  if (!o.dryRun && !stop()) {
    // Keep the inventory's order (the pool finishes out of order): the canary is the first site listed.
    const order = new Map(o.tasks.map((t, i) => [t.url, i]));
    ready.sort((a, b) => (order.get(a.task.url) ?? 0) - (order.get(b.task.url) ?? 0));
    const canaries = ready.slice(0, o.canary);
    const rest = ready.slice(o.canary);
    // 2. Canary: one at a time; any failure halts before the fleet is touched.
    if (canaries.length > 0) o.events?.phase?.('canary', canaries.length);
    for (const { task, before, prior } of canaries) {
      if (cancelled()) break;
      const outcome = withPrior(await pushSite(o.client, task, before, false), prior);
      await settle(outcome);
      if (outcome.status === 'failed') {
        reason ??= `canary ${task.url} failed (${outcome.error?.code})`;
        break;
      }
    }
    // 3. The rest, with bounded concurrency, until done or the failure budget is crossed.
    if (rest.length > 0 && !stop()) o.events?.phase?.('push', rest.length);
    await runPool(rest, o.workers, async ({ task, before, prior }) => settle(withPrior(await pushSite(o.client, task, before, false), prior)), stop);
  }

  // Sites never started because the run halted are skipped; after a cancel they stay pending (resumable).
  if (halted()) await skipPending(o);
  return { state: halted() ? 'halted' : cancelled() ? 'cancelled' : 'done', reason, changes };
}

interface Prior {
  attempts: number;
  ms: number;
}

function withPrior(outcome: SiteOutcome, prior: Prior): SiteOutcome {
  return { ...outcome, attempts: outcome.attempts + prior.attempts, duration_ms: outcome.duration_ms + prior.ms };
}

async function skipPending(o: PushRunOptions): Promise<void> {
  for (const r of await o.state.siteResults(o.runId, { status: ['pending'] })) {
    const outcome: SiteOutcome = { ...r, status: 'skipped', changes: [] };
    await o.state.recordSite(o.runId, outcome);
    o.events?.site?.(outcome);
  }
}
