import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { LaunchBody } from '../../protocol/bodies.js';
import { ROUTES } from '../../protocol/routes.js';
import { checkApiKey } from '../api-key-guard.js';
import type { TemplateContext } from '../context.js';
import { sendError } from '../errors.js';
import { StripeGatewayError } from '../stripe-gateway.js';

/** Routes that call Stripe with the stored secret: the key test and the launch checkout. */
export function registerStripeRoutes(app: FastifyInstance, ctx: TemplateContext): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();

  const failed = (req: FastifyRequest, reply: FastifyReply, call: string, err: unknown) => {
    if (err instanceof StripeGatewayError) {
      ctx.metrics.stripeCalls.inc({ call, outcome: err.code });
      req.log.warn({ call, code: err.code, detail: err.message }, 'stripe call failed');
      return sendError(reply, err.code);
    }
    throw err;
  };

  typed.post(
    ROUTES.testStripe,
    {
      schema: { summary: 'One read-only Stripe call with the stored secret (X-API-Key)' },
      onRequest: async (req, reply) => {
        if (!(await checkApiKey(ctx, req, reply)).ok) return reply;
      },
    },
    async (req, reply) => {
      const secret = (await ctx.settings.forRead()).get('stripe_secret_key');
      if (!secret) return sendError(reply, 'stripe_not_configured');
      try {
        const { livemode } = await ctx.gateway.testKey(secret.value);
        ctx.metrics.stripeCalls.inc({ call: 'test', outcome: 'ok' });
        return reply.send({ success: true, livemode });
      } catch (err) {
        return failed(req, reply, 'test', err);
      }
    },
  );

  typed.post(
    ROUTES.launch,
    { schema: { body: LaunchBody, summary: 'Create a Stripe Checkout Session for a new site' } },
    async (req, reply) => {
      // Every checkout is a Stripe call with the fleet's key: rate limited per address.
      ctx.checkoutLimiter.recordFailure(req.ip);
      const wait = ctx.checkoutLimiter.retryAfter(req.ip);
      if (wait > 0) return sendError(reply.header('retry-after', String(wait)), 'rate_limited');
      // Stripe's return URLs come from PUBLIC_URL, or from an allowed Host: never from any Host a client sends.
      const base = checkoutBase(ctx, req);
      if (base === null) return sendError(reply, 'checkout_host_not_allowed');
      // One snapshot: the secret key and the price id come from the same committed state.
      const snap = await ctx.settings.forRead();
      const secret = snap.get('stripe_secret_key');
      if (!secret) return sendError(reply, 'stripe_not_configured');
      const priceId = snap.get('stripe_price_id')?.value;
      try {
        const session = await ctx.gateway.createCheckoutSession(secret.value, {
          ...req.body,
          ...(priceId ? { priceId } : { amountCents: ctx.config.launchPriceCents }),
          currency: ctx.config.launchCurrency,
          successUrl: `${base}/?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
          cancelUrl: `${base}/?checkout=cancel`,
        });
        ctx.metrics.stripeCalls.inc({ call: 'checkout', outcome: 'ok' });
        req.log.info({ session_id: session.id, type: req.body.type }, 'checkout session created');
        return reply.send({ success: true, checkout_url: session.url, session_id: session.id });
      } catch (err) {
        return failed(req, reply, 'checkout', err);
      }
    },
  );
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[?::1\]?)$/i;

/** Does `host` (a name without port) match the allow-list: exact names and `*.example.com` suffixes. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (LOOPBACK.test(h)) return true;
  return allowed.some((a) => (a.startsWith('*.') ? h.endsWith(a.slice(1)) && h.length > a.length - 1 : h === a));
}

/** The base of checkout's return URLs, or null when PUBLIC_URL is unset and the Host is not allowed. */
function checkoutBase(ctx: TemplateContext, req: FastifyRequest): string | null {
  if (ctx.config.publicUrl) return ctx.config.publicUrl.replace(/\/+$/, '');
  if (!hostAllowed(req.hostname, ctx.config.allowedHosts)) return null;
  return `${req.protocol}://${req.host}`;
}
