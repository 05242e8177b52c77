import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import type { RunRecord } from '../../store/state-store.js';
import { IdParams, RunBody, RunsQuery } from '../api-schemas.js';
import { audit } from '../audit.js';
import { adminOf, requireAdmin } from '../auth/admin-guard.js';
import type { DashboardContext } from '../context.js';
import { DashboardError } from '../errors.js';
import { planForSites, planFromSnapshot, snapshotOfRun } from '../runs/run-plan.js';
import { runDetailView, runSummaryView, selectSites, storedEvents } from '../runs/run-views.js';
import { lastEventId } from '../runs/sse.js';

/**
 * Runs: list, start (a dry run is the preview), watch (SSE), resume an interrupted run, confirm a
 * preview (the same sites and key versions, for real), retry only the failed sites. Every run goes
 * through RunManager → runPush, the one push pipeline.
 */
export function registerRunRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = requireAdmin(ctx);
  const find = async (id: string): Promise<RunRecord> => {
    const run = await ctx.state.getRun(id);
    if (!run) throw new DashboardError('run_not_found');
    return run;
  };

  r.get(DASHBOARD_ROUTES.runs, { preValidation: guard, schema: { querystring: RunsQuery } }, async (req) => {
    const runs = await ctx.state.listRuns({ limit: req.query.limit ?? 50 });
    return { success: true, runs: runs.map((run) => runSummaryView(run, ctx.runs.isActive(run.id))) };
  });

  r.post(DASHBOARD_ROUTES.runs, { preValidation: guard, schema: { body: RunBody } }, async (req, reply) => {
    const actor = adminOf(req).actor;
    const b = req.body;
    const sites = await selectSites(ctx, b);
    const plan = await planForSites(ctx.state, sites, ctx.masterKey);
    const selection = { tags: b.tags ?? [], sites: b.sites ?? [], drifted_only: b.drifted_only ?? false };
    const run = await ctx.runs.start({
      actor,
      dryRun: b.dry_run ?? false,
      plan,
      canary: b.canary ?? 1,
      maxFailures: b.max_failures ?? '10%',
      trigger: b.drifted_only ? 'reconcile' : 'admin',
      selection,
    });
    await audit(ctx, req, actor, b.dry_run ? 'run.preview' : 'run.start', run.id, {
      ...selection,
      sites: sites.length,
      version: plan.versionId,
    });
    return reply.code(202).send({ success: true, run_id: run.id, dry_run: run.dry_run, sites: sites.length });
  });

  r.get(DASHBOARD_ROUTES.run, { preValidation: guard, schema: { params: IdParams } }, async (req) => {
    return runDetailView(ctx, await find(req.params.id));
  });

  r.get(
    DASHBOARD_ROUTES.runEvents,
    { preValidation: guard, schema: { params: IdParams } },
    async (req, reply) => {
      const run = await find(req.params.id);
      const after = lastEventId(req);
      // This dashboard runs it, or (Postgres) another one coordinates it and it is still running.
      const live = ctx.runs.liveRun(run.id) ?? (await ctx.runs.watch(run));
      if (live) return ctx.streams.stream(reply, (write) => live.follow(write, after));
      const events = await storedEvents(ctx.state, run);
      return ctx.streams.stream(reply, (write) => {
        for (const e of events) if (e.id > after) write(e);
        return () => undefined;
      });
    },
  );

  r.post(
    DASHBOARD_ROUTES.resumeRun,
    { preValidation: guard, schema: { params: IdParams } },
    async (req, reply) => {
      const run = await ctx.runs.resume(req.params.id);
      await audit(ctx, req, adminOf(req).actor, 'run.resume', run.id, {
        pending: run.summary.total - done(run),
      });
      return reply.code(202).send({ success: true, run_id: run.id });
    },
  );

  r.post(
    DASHBOARD_ROUTES.confirmRun,
    { preValidation: guard, schema: { params: IdParams } },
    async (req, reply) => {
      const preview = await find(req.params.id);
      if (!preview.dry_run || preview.state !== 'done') {
        throw new DashboardError(
          'run_state_conflict',
          `Run ${preview.id} is not a finished dry run: there is no preview to confirm.`,
        );
      }
      const urls = (await ctx.state.siteResults(preview.id)).map((s) => s.url);
      return follow(req, reply, preview, urls, 'confirm', false);
    },
  );

  r.post(
    DASHBOARD_ROUTES.retryFailed,
    { preValidation: guard, schema: { params: IdParams } },
    async (req, reply) => {
      const run = await find(req.params.id);
      if (run.state === 'running' || ctx.runs.isActive(run.id))
        throw new DashboardError('run_state_conflict', `Run ${run.id} is still running.`);
      const urls = (await ctx.state.siteResults(run.id, { status: ['failed'] })).map((s) => s.url);
      if (urls.length === 0)
        throw new DashboardError('no_sites_selected', `Run ${run.id} has no failed site.`);
      return follow(req, reply, run, urls, 'retry_failed', run.dry_run);
    },
  );

  /** A new run over some of an earlier run's sites, with the key versions the earlier run used. */
  async function follow(
    req: FastifyRequest,
    reply: FastifyReply,
    of: RunRecord,
    urls: string[],
    trigger: 'confirm' | 'retry_failed',
    dryRun: boolean,
  ) {
    const snapshot =
      snapshotOfRun(of.options) ??
      (of.key_version_id ? { default: of.key_version_id, others: {} } : undefined);
    if (!snapshot)
      throw new DashboardError(
        'run_state_conflict',
        `Run ${of.id} recorded no key version: start a new run instead.`,
      );
    const actor = adminOf(req).actor;
    const plan = await planFromSnapshot(ctx.state, urls, snapshot, ctx.masterKey);
    const run = await ctx.runs.start({
      actor,
      dryRun,
      plan,
      canary: Number(of.options.canary ?? 1) || 0,
      maxFailures: String(of.options.max_failures ?? '10%'),
      trigger,
      of: of.id,
    });
    await audit(ctx, req, actor, trigger === 'confirm' ? 'run.confirm' : 'run.retry_failed', run.id, {
      of: of.id,
      sites: urls.length,
    });
    return reply.code(202).send({ success: true, run_id: run.id, dry_run: dryRun, sites: urls.length });
  }
}

const done = (run: RunRecord) =>
  run.summary.ok + run.summary.failed + run.summary.skipped + run.summary.unchanged;
