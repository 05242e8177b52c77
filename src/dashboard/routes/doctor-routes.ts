import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import { IdParams } from '../api-schemas.js';
import { audit } from '../audit.js';
import { adminOf, requireAdmin } from '../auth/admin-guard.js';
import type { DashboardContext } from '../context.js';
import { DashboardError } from '../errors.js';
import { SiteDoctor } from '../fleet/site-doctor.js';

const DoctorBody = z
  .object({
    /** Also POST /api/test-stripe: the site makes one read-only Stripe call (the CLI's --stripe). */
    stripe: z
      .union([
        z.boolean(),
        z.enum(['true', 'false', 'on', '1', '0']).transform((v) => ['true', 'on', '1'].includes(v)),
      ])
      .optional(),
  })
  // A bare POST (curl -X POST, no body) arrives as null.
  .nullish();

/**
 * POST /api/admin/sites/:id/doctor: `keyfleet doctor` for one registered site (SiteDoctor). Answers
 * `{success, site, verdict, compared_with, api_key, stripe, report}` where `report` is exactly what
 * `keyfleet doctor <url> --json` prints (checks, diagnosis with the guide's fix and the curl command,
 * keys as $VARIABLES), masked. Writes nothing to the site; audited as `site.doctor` with the
 * diagnosis code. 409 `doctor_running` while one runs on the same site.
 */
export function registerDoctorRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const doctor = new SiteDoctor({
    state: ctx.state,
    config: ctx.config,
    env: ctx.env,
    masterKey: ctx.masterKey,
    log: app.log,
  });
  app.addHook('onClose', () => doctor.close());

  app
    .withTypeProvider<ZodTypeProvider>()
    .post(
      DASHBOARD_ROUTES.siteDoctor,
      { preValidation: requireAdmin(ctx), schema: { params: IdParams, body: DoctorBody } },
      async (req) => {
        const site = await ctx.state.fleet.getSite(req.params.id);
        if (!site) throw new DashboardError('site_not_found');
        // A pending site is sent no key at all (issue 12).
        if (site.approval === 'pending') throw new DashboardError('site_pending');
        const stripe = req.body?.stripe === true;
        const result = await doctor.examine(site, { stripe });
        await audit(ctx, req, adminOf(req).actor, 'site.doctor', site.id, {
          url: site.url,
          verdict: result.verdict,
          code: result.report.diagnosis?.code ?? null,
          stripe,
        });
        return {
          success: true,
          site: { id: site.id, name: site.name, url: site.url },
          verdict: result.verdict,
          compared_with: result.versionId,
          api_key: result.apiKey,
          stripe,
          report: result.report,
        };
      },
    );
}
