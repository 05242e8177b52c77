import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import type { RunRecord } from '../../store/state-store.js';
import { ConfirmBody, ExportQuery, IdParams, RetryBody, RunBody, RunsQuery } from '../api-schemas.js';
import { audit } from '../audit.js';
import { adminOf, requireAdmin } from '../auth/admin-guard.js';
import type { DashboardContext } from '../context.js';
import { DashboardError } from '../errors.js';
import { failureGroups, runCsv } from '../runs/run-failures.js';
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
    const selection = {
      tags: b.tags ?? [],
      sites: b.sites ?? [],
      drifted_only: b.drifted_only ?? false,
      ...(b.problem ? { problem: b.problem } : {}),
      ...(b.q?.trim() ? { q: b.q.trim() } : {}),
    };
    const run = await ctx.runs.start({
      actor,
      dryRun: b.dry_run ?? false,
      plan,
      canary: b.canary ?? 1,
      maxFailures: b.max_failures ?? DEFAULT_BUDGET,
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

  // Failures grouped by code, largest first: the fix once per group, a few sites to start from.
  r.get(DASHBOARD_ROUTES.runFailures, { preValidation: guard, schema: { params: IdParams } }, async (req) => {
    const run = await find(req.params.id);
    return { success: true, run_id: run.id, groups: failureGroups(await ctx.state.siteResults(run.id)) };
  });

  // Every site of the run as CSV (optionally only one failure code, or only the failed).
  r.get(
    DASHBOARD_ROUTES.runExport,
    { preValidation: guard, schema: { params: IdParams, querystring: ExportQuery } },
    async (req, reply) => {
      const run = await find(req.params.id);
      const { code, status } = req.query;
      const results = (await ctx.state.siteResults(run.id)).filter(
        (r) =>
          (status === undefined || r.status === status) &&
          (code === undefined || (r.status === 'failed' && (r.error?.code ?? 'server_error') === code)),
      );
      const names = new Map((await ctx.state.fleet.listSites()).map((s) => [s.url, s.name]));
      const name = `run-${run.id}${code ? `-${code}` : ''}.csv`;
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(runCsv(results, names));
    },
  );

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
    { preValidation: guard, schema: { params: IdParams, body: ConfirmBody } },
    async (req, reply) => {
      const preview = await find(req.params.id);
      if (!preview.dry_run || preview.state !== 'done') {
        throw new DashboardError(
          'run_state_conflict',
          `Run ${preview.id} is not a finished dry run: there is no preview to confirm.`,
        );
      }
      const body = req.body ?? {};
      const results = await ctx.state.siteResults(preview.id);
      const urls = results.filter((s) => !body.only_passed || s.status !== 'failed').map((s) => s.url);
      if (urls.length === 0)
        throw new DashboardError(
          'no_sites_selected',
          `No site of preview ${preview.id} passed: fix what the preview found (run the doctor on a site), then preview again.`,
        );
      return follow(req, reply, preview, urls, 'confirm', false, body.max_failures ?? DEFAULT_BUDGET, {
        only_passed: body.only_passed ?? false,
        left_out: results.length - urls.length,
      });
    },
  );

  r.post(
    DASHBOARD_ROUTES.cancelRun,
    { preValidation: guard, schema: { params: IdParams } },
    async (req, reply) => {
      await ctx.runs.cancel(req.params.id);
      await audit(ctx, req, adminOf(req).actor, 'run.cancel', req.params.id, {});
      // Said as it is: sites in flight are not interrupted, and the rest can still be pushed.
      return reply.code(202).send({
        success: true,
        run_id: req.params.id,
        message: `Cancelling: no new site starts; sites already being pushed finish, the others stay pending. Resume the run to push them.${
          ctx.runs.shared
            ? ' This run is shared: jobs other dashboards have not started are taken back; sites they are working on finish.'
            : ''
        }`,
      });
    },
  );

  r.post(
    DASHBOARD_ROUTES.retryFailed,
    { preValidation: guard, schema: { params: IdParams, body: RetryBody } },
    async (req, reply) => {
      const run = await find(req.params.id);
      if (run.state === 'running' || ctx.runs.isActive(run.id))
        throw new DashboardError('run_state_conflict', `Run ${run.id} is still running.`);
      const code = req.body?.code;
      const urls = (await ctx.state.siteResults(run.id, { status: ['failed'] }))
        .filter((s) => code === undefined || (s.error?.code ?? 'server_error') === code)
        .map((s) => s.url);
      if (urls.length === 0)
        throw new DashboardError(
          'no_sites_selected',
          code === undefined ? `Run ${run.id} has no failed site.` : `Run ${run.id} has no site that failed with ${code}.`,
        );
      return follow(req, reply, run, urls, 'retry_failed', run.dry_run, String(run.options.max_failures ?? DEFAULT_BUDGET), code ? { code } : {});
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
    maxFailures: string,
    detail: Record<string, unknown> = {},
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
    // planFromSnapshot leaves out every site now waiting for approval (removed, then registered again).
    const awaitingApproval = urls.length - plan.tasks.length;
    if (plan.tasks.length === 0)
      throw new DashboardError(
        'no_sites_selected',
        `Every site this would push waits for an admin's approval (${awaitingApproval}): approve them on the Sites page (POST /api/admin/sites/:id/approve), then try again.`,
      );
    const run = await ctx.runs.start({
      actor,
      dryRun,
      plan,
      canary: Number(of.options.canary ?? 1) || 0,
      maxFailures,
      trigger,
      of: of.id,
      selection: {
        tags: (of.options.tags as string[] | undefined) ?? [],
        drifted_only: of.options.drifted_only === true,
      },
    });
    await audit(ctx, req, actor, trigger === 'confirm' ? 'run.confirm' : 'run.retry_failed', run.id, {
      of: of.id,
      sites: plan.tasks.length,
      max_failures: maxFailures,
      ...(awaitingApproval > 0 ? { awaiting_approval: awaitingApproval } : {}),
      ...detail,
    });
    return reply
      .code(202)
      .send({ success: true, run_id: run.id, dry_run: dryRun, sites: plan.tasks.length, awaiting_approval: awaitingApproval });
  }
}

/** The real push's failure budget unless the operator gives another one when confirming. */
const DEFAULT_BUDGET = '10%';

const done = (run: RunRecord) =>
  run.summary.ok + run.summary.failed + run.summary.skipped + run.summary.unchanged;
