import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import { fingerprint } from '../../protocol/fingerprint.js';
import { API_KEY_HEADER } from '../../protocol/routes.js';
import type { FleetSite } from '../../store/fleet-store.js';
import { hashApiKey, keyMatches } from '../../template/auth.js';
import { sendError } from '../../template/errors.js';
import { RegisterBody } from '../api-schemas.js';
import { audit } from '../audit.js';
import { bearer } from '../auth/admin-guard.js';
import type { DashboardContext } from '../context.js';
import { DashboardError } from '../errors.js';
import { effectiveVersion, VersionKeys } from '../fleet/desired.js';
import { defaultSiteName, siteUrlOrThrow } from '../fleet/site-views.js';
import { planForSites } from '../runs/run-plan.js';

/**
 * What template sites call. `GET /api/sites/:site/stripe-key` (X-API-Key: the site's own key or
 * TEMPLATE_MASTER_API_KEY, compared in constant time) answers the publishable key of the site's
 * desired version — never a secret. `POST /api/sites/register` (Bearer KEYFLEET_REGISTRATION_TOKEN)
 * adds the site, or updates its key when it registers again, and starts a push to it at once.
 * Failed authentications count per address (429 with Retry-After past the limit).
 */
export function registerSiteFacingRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  /** Answers 429 and returns true while the address is locked out. */
  const locked = (req: FastifyRequest, reply: FastifyReply) => {
    const wait = ctx.siteLimiter.retryAfter(req.ip);
    if (wait > 0) reply.header('retry-after', String(wait));
    return wait > 0;
  };
  const refuse = (
    req: FastifyRequest,
    reply: FastifyReply,
    code: 'invalid_api_key' | 'invalid_registration_token',
  ) => {
    ctx.siteLimiter.recordFailure(req.ip);
    return locked(req, reply) ? sendError(reply, 'too_many_attempts') : sendError(reply, code);
  };

  r.get(
    DASHBOARD_ROUTES.siteStripeKey,
    { schema: { params: z.object({ site: z.string().max(300) }) } },
    async (req, reply) => {
      if (locked(req, reply)) return sendError(reply, 'too_many_attempts');
      const header = req.headers[API_KEY_HEADER];
      const presented = typeof header === 'string' && header !== '' ? header : bearer(req);
      const site = await ctx.state.fleet.getSite(req.params.site);
      // KEYFLEET_PUBLIC_PK=1: the original template's sites ask with no key (SEED_TEMPLATE.md point 7);
      // a publishable key is public. A key that is sent must still be right.
      const open = ctx.config.publicPk && presented === undefined;
      if (!open) {
        const own = site?.has_api_key ? await ctx.state.fleet.siteApiKey(site.id) : null;
        const accepted = own === null ? ctx.masterKeyHashes : [...ctx.masterKeyHashes, hashApiKey(own)];
        // An unknown site is only revealed to a caller holding a valid key.
        if (presented === undefined || !keyMatches(presented, accepted))
          return refuse(req, reply, 'invalid_api_key');
      }
      // Publicly, an unknown site looks like one with no key: the registry is not enumerable.
      if (!site) return sendError(reply, open ? 'no_publishable_key' : 'site_not_found');
      const version = effectiveVersion(site, await ctx.state.fleet.desired()).version_id;
      const pk = version
        ? (await new VersionKeys(ctx.state).keys(version)).stripe_publishable_key
        : undefined;
      if (!pk) return sendError(reply, 'no_publishable_key');
      return reply.header('cache-control', 'no-store').send({ success: true, publishable_key: pk });
    },
  );

  r.post(
    DASHBOARD_ROUTES.register,
    {
      schema: { body: RegisterBody },
      // The token is checked before the body: a stranger learns nothing from a 400.
      preValidation: async (req, reply) => {
        if (ctx.registrationTokenHashes.length === 0) return sendError(reply, 'registration_disabled');
        if (locked(req, reply)) return sendError(reply, 'too_many_attempts');
        const token = bearer(req);
        if (token === undefined || !keyMatches(token, ctx.registrationTokenHashes))
          return refuse(req, reply, 'invalid_registration_token');
      },
    },
    async (req, reply) => {
      const url = siteUrlOrThrow(req.body.site_url, ctx.config.allowHttp);
      const apiKey = req.body.api_key;
      let site: FleetSite | undefined = await ctx.state.fleet.getSite(url);
      const again = site !== undefined && site.url === url;
      if (site && again) site = await ctx.state.fleet.updateSite(site.id, { apiKey });
      else
        site = await ctx.state.fleet.addSite({
          url,
          name: req.body.site_name?.trim() || defaultSiteName(url),
          tags: [],
          apiKey,
          source: 'register',
          addedBy: 'register',
        });
      if (!site) throw new DashboardError('site_not_found');
      await audit(ctx, req, 'register', again ? 'site.reregister' : 'site.register', site.id, {
        url,
        name: site.name,
        api_key_fingerprint: fingerprint(apiKey),
      });
      let runId: string | null = null;
      let message = 'Registered; a push to the site has started.';
      try {
        const run = await ctx.runs.start({
          actor: 'register',
          dryRun: false,
          plan: await planForSites(ctx.state, [site], ctx.masterKey),
          canary: 0,
          maxFailures: '100%',
          trigger: 'register',
          selection: { sites: [site.id] },
        });
        runId = run.id;
        await audit(ctx, req, 'register', 'run.start', run.id, { sites: 1, trigger: 'register' });
      } catch (err) {
        if (!(err instanceof DashboardError && err.code === 'no_desired_keys')) throw err;
        message = 'Registered; no keys are desired yet, so nothing was pushed.';
      }
      return reply.code(again ? 200 : 201).send({ success: true, site_id: site.id, run_id: runId, message });
    },
  );
}
