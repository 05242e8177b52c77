import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import { IdParams } from '../api-schemas.js';
import { audit } from '../audit.js';
import { adminOf, requireAdmin } from '../auth/admin-guard.js';
import type { DashboardContext } from '../context.js';
import { DashboardError } from '../errors.js';
import { siteView } from '../fleet/site-views.js';
import { pushToNewSite } from './site-facing-routes.js';

/**
 * `POST /api/admin/sites/:id/approve` (issue 12): an admin lets a site that registered itself with
 * the token receive the keys. The site becomes `approved` (who and when are recorded and audited) and
 * a push of its desired keys starts at once, as a registration from an allowed host does. Approving
 * an approved site changes nothing and starts nothing (200, `run_id: null`).
 */
export function registerApprovalRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    DASHBOARD_ROUTES.approveSite,
    { preValidation: requireAdmin(ctx), schema: { params: IdParams } },
    async (req) => {
      const actor = adminOf(req).actor;
      const site = await ctx.state.fleet.getSite(req.params.id);
      if (!site) throw new DashboardError('site_not_found');
      const desired = await ctx.state.fleet.desired();
      if (site.approval === 'approved')
        return { success: true, site: siteView(site, desired), run_id: null, message: 'Already approved.' };
      const approved = await ctx.state.fleet.updateSite(site.id, { approvedBy: actor });
      if (!approved) throw new DashboardError('site_not_found');
      await audit(ctx, req, actor, 'site.approve', site.id, { url: site.url, name: site.name });
      const { runId, message } = await pushToNewSite(ctx, req, approved, actor);
      return {
        success: true,
        site: siteView(approved, desired),
        run_id: runId,
        message: message.replace(/^Registered/, 'Approved'),
      };
    },
  );
}
