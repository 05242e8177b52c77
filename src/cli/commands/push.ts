import { runPush } from '../../engine/push-run.js';
import { SEED_RESTART_HINT } from '../../engine/seed-protocol.js';
import type { SiteTask } from '../../engine/push-site.js';
import { openStateStore } from '../../store/open-state-store.js';
import type { RunRecord, StateStore } from '../../store/state-store.js';
import { usageError } from '../../protocol/cli-error.js';
import { confirmWrite } from '../confirm.js';
import { actor, clientFor, maskedKeys, parseCount, workersFor } from '../fleet-options.js';
import { finishRun } from '../finish-run.js';
import { interruptible } from '../interrupt.js';
import { createReporter } from '../output/create-reporter.js';
import type { Reporter } from '../output/reporter.js';
import { parseFailureBudget } from '../../engine/failure-budget.js';
import { planPush, planResume, type PushPlan } from './push-plan.js';
import type { PushOptions } from './push-options.js';

/** `keyfleet push`: validate → preflight → canary → the rest → verify, persisted per site. */
export async function push(opts: PushOptions): Promise<number> {
  const reporter = createReporter({ json: opts.json === true, verbose: opts.verbose === true });
  const canary = parseCount(opts.canary, '--canary', 1, 0);
  const state = await openStateStore({ log: (m) => reporter.warn(m) });
  try {
    for (const id of await state.markInterrupted()) reporter.warn(`run ${id} was interrupted; finish it with: keyfleet push --resume ${id}`);
    const plan = opts.resume ? await planResume(opts, state, reporter) : await planPush(opts, state, reporter);
    if (!opts.dryRun) await confirmWrite(`About to push ${plan.summary} to ${plan.tasks.length} sites.`, opts);
    const run = plan.resumeOf ?? (await createRun(state, plan, opts));
    return await execute(run, plan.tasks, state, reporter, opts, canary);
  } finally {
    await state.close();
  }
}

async function createRun(state: StateStore, plan: PushPlan, opts: PushOptions): Promise<RunRecord> {
  const version = opts.dryRun ? null : await state.saveKeyVersion(plan.keys, actor());
  return state.createRun({
    command: 'push',
    dry_run: opts.dryRun === true,
    actor: actor(),
    sites_source: opts.sitesFile ?? null,
    keys: version?.keys ?? maskedKeys(plan.keys),
    options: { only: opts.only ?? null, canary: opts.canary, max_failures: opts.maxFailures, preflight_all: opts.preflightAll === true, tag: opts.tag ?? null, concurrency: opts.concurrency, retry_failed: opts.retryFailed ?? null },
    key_version_id: version?.id ?? null,
    sites: plan.tasks.map((t) => t.url),
  });
}

async function execute(run: RunRecord, tasks: SiteTask[], state: StateStore, reporter: Reporter, opts: PushOptions, canary: number): Promise<number> {
  let budget: number;
  try {
    budget = parseFailureBudget(opts.maxFailures ?? '10%', tasks.length);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  const client = clientFor(opts, reporter);
  const stop = interruptible((m) => reporter.note(m));
  let seedSecretWritten = false;
  try {
    reporter.note(`run ${run.id}${opts.dryRun ? ' (dry run)' : ''}: ${tasks.length} sites`);
    const result = await runPush({
      runId: run.id,
      tasks,
      client,
      state,
      dryRun: opts.dryRun === true,
      canary,
      failureBudget: budget,
      preflightAll: opts.preflightAll === true,
      workers: workersFor(parseCount(opts.concurrency, '--concurrency', 16)),
      signal: stop.signal,
      events: {
        phase: (p, n) => reporter.phase(p, n),
        site: (o) => {
          if (o.protocol === 'seed' && o.status === 'ok' && o.changes.includes('stripe_secret_key')) seedSecretWritten = true;
          reporter.site(o);
        },
        preflighted: () => reporter.tick(),
      },
    });
    // SEED_TEMPLATE.md point 5, once per run.
    const lines = seedSecretWritten && !opts.dryRun ? [SEED_RESTART_HINT] : [];
    return await finishRun(state, reporter, run.id, { ...result, lines });
  } finally {
    stop.dispose();
    await client.close();
  }
}

