import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import type { FleetSite, SiteFilter } from '../../store/fleet-store.js';
import { BulkBody, IdParams, SiteQuery } from '../api-schemas.js';
import { audit } from '../audit.js';
import { adminOf, requireAdmin } from '../auth/admin-guard.js';
import type { DashboardContext } from '../context.js';
import { DashboardError } from '../errors.js';
import { BulkJobs } from '../fleet/bulk-jobs.js';
import { SiteDoctor } from '../fleet/site-doctor.js';
import { siteView } from '../fleet/site-views.js';

/** Sites examined by the doctor at once in a bulk job (each makes a few requests of its own). */
const DOCTOR_WORKERS = 8;

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
};

function filterOf(q: { tag?: string[]; problem?: SiteFilter['status']; q?: string; sites?: string[]; ref?: string[] }): SiteFilter {
  const refs = q.sites ?? q.ref;
  return {
    ...(q.tag?.length ? { tags: q.tag } : {}),
    ...(q.problem ? { status: q.problem } : {}),
    ...(q.q?.trim() ? { q: q.q.trim() } : {}),
    ...(refs?.length ? { refs } : {}),
  };
}

/**
 * Issue 11 point 8: bulk actions on every site matching the Sites page's filters (not only the rows
 * on screen): remove, add or remove tags, run the doctor — each a server-side job with progress
 * (GET /api/admin/jobs/:id) — and export the matching sites as CSV.
 */
export function registerBulkRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = requireAdmin(ctx);
  const jobs = new BulkJobs(app.log);
  const doctor = new SiteDoctor({ state: ctx.state, config: ctx.config, env: ctx.env, masterKey: ctx.masterKey, log: app.log });
  app.addHook('onClose', () => doctor.close());

  r.post(DASHBOARD_ROUTES.bulkSites, { preValidation: guard, schema: { body: BulkBody } }, async (req, reply) => {
    const b = req.body;
    const actor = adminOf(req).actor;
    const filter = filterOf(b);
    const sites = await ctx.state.fleet.listSites(filter);
    if (sites.length !== b.expected)
      throw new DashboardError(
        'run_state_conflict',
        `${sites.length} sites match now, not ${b.expected} as expected: the fleet changed. Look at the list again, then retry.`,
      );
    if (sites.length === 0) throw new DashboardError('no_sites_selected');
    const tags = b.tags ?? [];
    if ((b.action === 'add_tags' || b.action === 'remove_tags') && tags.length === 0)
      throw new DashboardError('invalid_request', 'Give the tags to add or remove (tags: ["eu"]).');
    const step = async (site: FleetSite): Promise<string> => {
      switch (b.action) {
        case 'remove':
          return (await ctx.state.fleet.removeSite(site.id)) ? 'removed' : 'already_gone';
        case 'add_tags':
        case 'remove_tags': {
          const now = await ctx.state.fleet.getSite(site.id);
          if (!now) return 'already_gone';
          const next =
            b.action === 'add_tags'
              ? [...now.tags, ...tags.filter((t) => !now.tags.includes(t))]
              : now.tags.filter((t) => !tags.includes(t));
          if (next.length === now.tags.length && next.every((t, i) => t === now.tags[i])) return 'unchanged';
          await ctx.state.fleet.updateSite(site.id, { tags: next });
          return 'tagged';
        }
        case 'doctor': {
          const result = await doctor.examine(site, { stripe: false });
          return result.report.diagnosis?.code ?? result.verdict;
        }
      }
    };
    const job = jobs.start(b.action, sites, b.action === 'doctor' ? DOCTOR_WORKERS : 1, step, (done) =>
      audit(ctx, req, actor, `sites.bulk_${b.action}`, done.id, {
        filter,
        sites: done.total,
        failed: done.failed,
        outcomes: done.outcomes,
        ...(tags.length ? { tags } : {}),
      }).then(() => undefined),
    );
    return reply.code(202).send({ success: true, job });
  });

  r.get(DASHBOARD_ROUTES.bulkJob, { preValidation: guard, schema: { params: IdParams } }, async (req) => {
    const job = jobs.get(req.params.id);
    if (!job)
      throw new DashboardError(
        'run_not_found',
        `No job ${req.params.id} in this dashboard (jobs are kept in memory; a restarted dashboard forgets them).`,
      );
    return { success: true, job };
  });

  // The matching sites as CSV: the Sites page's filters, every match (never a single page).
  r.get(DASHBOARD_ROUTES.exportSites, { preValidation: guard, schema: { querystring: SiteQuery } }, async (req, reply) => {
    const desired = await ctx.state.fleet.desired();
    const sites = await ctx.state.fleet.listSites(filterOf(req.query));
    const lines = [['id', 'name', 'url', 'tags', 'desired_version', 'drift', 'reachable', 'problem', 'checked_at'].join(',')];
    for (const s of sites) {
      const v = siteView(s, desired);
      lines.push(
        [s.id, s.name, s.url, s.tags.join(' '), v.desired.version_id, v.drift, s.health?.reachable, s.health?.problem, s.health?.checked_at]
          .map(csvCell)
          .join(','),
      );
    }
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="sites.csv"')
      .send(`${lines.join('\n')}\n`);
  });
}
