import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { hashApiKey } from '../auth.js';
import { ROUTES } from '../../protocol/routes.js';
import { SETTINGS } from '../../protocol/settings.js';
import type { TemplateContext } from '../context.js';
import { checkApiKey } from '../api-key-guard.js';
import { sendError } from '../errors.js';
import { authenticatedKeyView, publicKeyView } from '../key-view.js';

/** Read-only routes: the publishable key, health, the Stripe health view, metrics and the OpenAPI document. */
export function registerPublicRoutes(app: FastifyInstance, ctx: TemplateContext): void {
  const sendPk = async (reply: import('fastify').FastifyReply) => {
    const body = (await ctx.settings.forRead()).pkBody;
    reply.header('access-control-allow-origin', '*');
    if (body === null) return sendError(reply, 'no_publishable_key');
    return reply.type('application/json; charset=utf-8').send(body);
  };

  // The hot path: a pre-serialized body, no per-request log line.
  app.get(ROUTES.stripePk, { logLevel: 'warn' }, (_req, reply) => sendPk(reply));

  app.get<{ Params: { name: string } }>(ROUTES.settingPattern, (req, reply) => {
    // Only the publishable key can be read back; a secret (or anything else) is never revealed.
    if (req.params.name === SETTINGS.stripe_publishable_key.name) return sendPk(reply);
    return sendError(reply, 'not_found');
  });

  app.get(ROUTES.health, { logLevel: 'warn' }, async (_req, reply) => {
    const database = await ctx.settings.store.ping().then(
      () => 'ok' as const,
      () => 'error' as const,
    );
    return reply
      .code(database === 'ok' ? 200 : 503)
      .send({ status: database === 'ok' ? 'ok' : 'error', version: ctx.config.version, database });
  });

  app.get(ROUTES.healthStripe, async (req, reply) => {
    if (req.headers['x-api-key'] === undefined) return reply.send(publicKeyView(await ctx.settings.forRead()));
    if (!(await checkApiKey(ctx, req, reply)).ok) return reply;
    // One snapshot for the whole view: the pair it shows was held together.
    return reply.send(authenticatedKeyView(await ctx.settings.forRead()));
  });

  app.get(ROUTES.metrics, { logLevel: 'warn' }, async (req, reply) => {
    const token = ctx.config.metricsToken;
    if (token) {
      const wait = ctx.metricsLimiter.retryAfter(req.ip);
      if (wait > 0) return reply.code(429).header('retry-after', String(wait)).send('too many wrong metrics tokens: wait and retry\n');
      const presented = req.headers.authorization ?? '';
      // Both sides hashed to 32 bytes and compared in constant time: neither length nor prefix leaks.
      if (!timingSafeEqual(hashApiKey(presented), hashApiKey(`Bearer ${token}`))) {
        ctx.metricsLimiter.recordFailure(req.ip);
        const after = ctx.metricsLimiter.retryAfter(req.ip);
        if (after > 0) return reply.code(429).header('retry-after', String(after)).send('too many wrong metrics tokens: wait and retry\n');
        return reply.code(401).header('www-authenticate', 'Bearer').send('metrics token required\n');
      }
    }
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  app.get(ROUTES.openapi, (_req, reply) => reply.send(app.swagger()));
}
