import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import { fingerprint } from '../../protocol/fingerprint.js';
import { ERROR_CATALOG } from '../../protocol/error-catalog.js';
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
import { hostAllowed, refusedHost } from '../fleet/registration-hosts.js';
import { siteByAlias } from '../fleet/site-aliases.js';
import { defaultSiteName, siteUrlOrThrow } from '../fleet/site-views.js';
import { planForSites } from '../runs/run-plan.js';

/**
 * What template sites call. `GET /api/sites/:site/stripe-key` (X-API-Key: the site's own key or
 * TEMPLATE_MASTER_API_KEY, compared in constant time) answers the publishable key of the site's
 * desired version — never a secret. `POST /api/sites/register` (Bearer KEYFLEET_REGISTRATION_TOKEN,
 * rate limited) adds the site `pending` (202): nothing is sent to it until an admin approves it,
 * unless its host is on KEYFLEET_REGISTRATION_ALLOWED_HOSTS (then approved and pushed at once).
 * Private, loopback, link-local and metadata addresses are refused unless listed. A known site (or an
 * alias of its URL) registering again must prove its current key (`current_api_key`), else 409.
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
      // A site waiting for approval receives nothing, not even its publishable key (issue 12); asked
      // publicly, it looks like any site without a key, so a stranger learns nothing from the answer.
      if (site.approval === 'pending') return sendError(reply, open ? 'no_publishable_key' : 'site_pending');
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
        // Counted before any work: a token holder cannot flood the dashboard with sites or runs.
        const { perAddress, overall } = ctx.registrationLimiter;
        perAddress.recordFailure(req.ip);
        overall.recordFailure('*');
        const wait = Math.max(perAddress.retryAfter(req.ip), overall.retryAfter('*'));
        if (wait > 0) {
          reply.header('retry-after', String(wait));
          return sendError(reply, 'too_many_registrations');
        }
      },
    },
    async (req, reply) => {
      const url = siteUrlOrThrow(req.body.site_url, ctx.config.allowHttp);
      const host = new URL(url).hostname;
      const listed = hostAllowed(host, ctx.registrationHosts);
      if (!listed) {
        const why = await refusedHost(host);
        if (why) throw new DashboardError('registration_host_refused', `Refused: ${why}. ${ERROR_CATALOG.registration_host_refused.hint}`);
      }
      const apiKey = req.body.api_key;
      let site = await siteByAlias(ctx.state.fleet, url);
      const again = site !== undefined;
      if (site) {
        // Whoever holds only the token must not take over a known site's key (issue 12).
        const own = site.has_api_key ? await ctx.state.fleet.siteApiKey(site.id) : null;
        const accepted = own === null ? ctx.masterKeyHashes : [hashApiKey(own)];
        const current = req.body.current_api_key;
        if (current === undefined || accepted.length === 0 || !keyMatches(current, accepted)) {
          ctx.siteLimiter.recordFailure(req.ip);
          await audit(ctx, req, 'register', 'site.reregister_refused', site.id, { url });
          throw new DashboardError('current_key_required');
        }
        site = await ctx.state.fleet.updateSite(site.id, {
          apiKey,
          ...(listed && site.approval === 'pending' ? { approvedBy: 'allow-list' } : {}),
        });
      } else
        site = await ctx.state.fleet.addSite({
          url,
          name: req.body.site_name?.trim() || defaultSiteName(url),
          tags: [],
          apiKey,
          source: 'register',
          addedBy: 'register',
          ...(listed ? { approvedBy: 'allow-list' } : { approval: 'pending' as const }),
        });
      if (!site) throw new DashboardError('site_not_found');
      await audit(ctx, req, 'register', again ? 'site.reregister' : 'site.register', site.id, {
        url: site.url,
        name: site.name,
        approval: site.approval,
        api_key_fingerprint: fingerprint(apiKey),
      });
      if (site.approval === 'pending') {
        return reply.code(202).send({
          success: true,
          site_id: site.id,
          run_id: null,
          approval: 'pending',
          message: 'Registered; the site waits for an admin to approve it. Nothing is sent to it until then.',
        });
      }
      const { runId, message } = await pushToNewSite(ctx, req, site, 'register');
      return reply
        .code(again ? 200 : 201)
        .send({ success: true, site_id: site.id, run_id: runId, approval: site.approval, message });
    },
  );
}

/**
 * Starts a push of the desired keys to one approved site (after a registration from an allowed host,
 * or an admin's approval). No desired keys yet: nothing to push, said in the message.
 */
export async function pushToNewSite(
  ctx: DashboardContext,
  req: FastifyRequest,
  site: FleetSite,
  actor: string,
): Promise<{ runId: string | null; message: string }> {
  if (site.approval !== 'approved') throw new DashboardError('site_pending');
  try {
    const run = await ctx.runs.start({
      actor,
      dryRun: false,
      plan: await planForSites(ctx.state, [site], ctx.masterKey),
      canary: 0,
      maxFailures: '100%',
      trigger: 'register',
      selection: { sites: [site.id] },
    });
    await audit(ctx, req, actor, 'run.start', run.id, { sites: 1, trigger: 'register' });
    return { runId: run.id, message: 'Registered; a push to the site has started.' };
  } catch (err) {
    if (!(err instanceof DashboardError && err.code === 'no_desired_keys')) throw err;
    return { runId: null, message: 'Registered; no keys are desired yet, so nothing was pushed.' };
  }
}
