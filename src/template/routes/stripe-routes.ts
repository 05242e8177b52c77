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
      preValidation: async (req, reply) => {
        if (!checkApiKey(ctx, req, reply).ok) return reply;
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
      // One snapshot: the secret key and the price id come from the same committed state.
      const snap = await ctx.settings.forRead();
      const secret = snap.get('stripe_secret_key');
      if (!secret) return sendError(reply, 'stripe_not_configured');
      const base = (ctx.config.publicUrl ?? `${req.protocol}://${req.host}`).replace(/\/+$/, '');
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
