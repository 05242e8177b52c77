import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SiteError } from '../../engine/site-error.js';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import { fingerprint } from '../../protocol/fingerprint.js';
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
 * Gives a site its own API key with no moment where the dashboard and the site disagree (DESIGN §2,
 * credentials): 1. rotate with the key that opens it now — the site accepts both; 2. the dashboard
 * keeps the new key (sealed) and uses it from then on; 3. confirm with the new key — the site drops
 * the old one (and, with `retire_shared_key`, the shared TEMPLATE_MASTER_API_KEY). A failure at 1
 * changes nothing; after 2, both keys open the site until a later rotation completes.
 * The new key is 32 random bytes, never shown: not in the reply, the log or the audit (fingerprint only).
 */
export function registerCredentialRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    DASHBOARD_ROUTES.rotateCredentials,
    { preValidation: requireAdmin(ctx), schema: { params: IdParams, body: RotateBody } },
    async (req) => {
      const site = await ctx.state.fleet.getSite(req.params.id);
      if (!site) throw new DashboardError('site_not_found');
      const current = (site.has_api_key ? await ctx.state.fleet.siteApiKey(site.id) : null) ?? ctx.masterKey;
      if (!current)
        throw new DashboardError(
          'invalid_request',
          "No key opens this site: set TEMPLATE_MASTER_API_KEY or the site's api_key first.",
        );
      const fresh = randomBytes(32).toString('base64url');
      const retire = req.body?.retire_shared_key === true;
      try {
        await ctx.client.rotateCredentials(site.url, current, fresh);
      } catch (err) {
        throw failed('rotate', err);
      }
      const updated = await ctx.state.fleet.updateSite(site.id, { apiKey: fresh });
      const detail = { url: site.url, api_key_fingerprint: fingerprint(fresh), retire_shared_key: retire };
      try {
        // Always with a body: the template site refuses a body-less confirm (400 invalid_request, body null).
        await ctx.client.confirmCredentials(site.url, fresh, { retire_shared_key: retire });
      } catch (err) {
        await audit(ctx, req, adminOf(req).actor, 'site.rotate_credentials.unconfirmed', site.id, detail);
        throw failed('confirm (the site accepts both keys until a rotation completes)', err);
      }
      await audit(ctx, req, adminOf(req).actor, 'site.rotate_credentials', site.id, detail);
      return { success: true, site: siteView(updated ?? site, await ctx.state.fleet.desired()) };
    },
  );
}
