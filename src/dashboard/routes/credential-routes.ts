import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SiteError } from '../../engine/site-error.js';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import { RotationError, rotateSiteCredentials } from '../../engine/rotate-credentials.js';
import { IdParams } from '../api-schemas.js';
import { audit } from '../audit.js';
import { adminOf, requireAdmin } from '../auth/admin-guard.js';
import type { DashboardContext } from '../context.js';
import { DashboardError } from '../errors.js';
import { siteView } from '../fleet/site-views.js';

const RotateBody = z
  .object({
    /** After the confirm, the site also stops accepting TEMPLATE_MASTER_API_KEY. */
    retire_shared_key: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .optional(),
  })
  .optional();

const failed = (step: string, err: unknown) => {
  if (!(err instanceof SiteError)) return err;
  return new DashboardError('site_request_failed', `${step}: ${err.code} (${err.message})`);
};

/**
 * POST /api/admin/sites/:id/rotate-credentials: the site gets its own API key through
 * rotateSiteCredentials (no gap); the key is never shown — not in the reply, the log or the audit.
 */
export function registerCredentialRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    DASHBOARD_ROUTES.rotateCredentials,
    { preValidation: requireAdmin(ctx), schema: { params: IdParams, body: RotateBody } },
    async (req) => {
      const site = await ctx.state.fleet.getSite(req.params.id);
      if (!site) throw new DashboardError('site_not_found');
      // A pending site is sent no key at all (issue 12).
      if (site.approval === 'pending') throw new DashboardError('site_pending');
      const retire = req.body?.retire_shared_key === true;
      const detail = { url: site.url, retire_shared_key: retire };
      let result;
      try {
        result = await rotateSiteCredentials(ctx.client, ctx.state.fleet, site, ctx.masterKey, retire);
      } catch (err) {
        if (!(err instanceof RotationError)) throw err;
        if (err.step === 'no_key')
          throw new DashboardError('invalid_request', "No key opens this site: set TEMPLATE_MASTER_API_KEY or the site's api_key first.");
        if (err.step === 'confirm') await audit(ctx, req, adminOf(req).actor, 'site.rotate_credentials.unconfirmed', site.id, detail);
        throw failed(err.step, err.cause);
      }
      const updated = result.site;
      await audit(ctx, req, adminOf(req).actor, 'site.rotate_credentials', site.id, { ...detail, api_key_fingerprint: result.fingerprint });
      return { success: true, site: siteView(updated, await ctx.state.fleet.desired()) };
    },
  );
}
