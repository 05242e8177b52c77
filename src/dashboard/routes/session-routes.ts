import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { DASHBOARD_ROUTES, SESSION_COOKIE } from '../../protocol/dashboard-routes.js';
import { sendError } from '../../template/errors.js';
import { LoginBody } from '../api-schemas.js';
import { audit } from '../audit.js';
import { adminOf, foreignOrigin, lockedOut, requireAdmin } from '../auth/admin-guard.js';
import { verifyPassword } from '../auth/password.js';
import { readCookie, sessionCookie } from '../auth/sessions.js';
import type { DashboardContext } from '../context.js';

/**
 * Login, logout and "who am I". Login takes `{"password":…}` as JSON or a form, is limited per
 * address (429 with Retry-After past KEYFLEET_LOGIN_FAILURES_PER_MINUTE failures), and answers with
 * the session's CSRF token; the session id travels only in the HttpOnly, SameSite=Strict cookie.
 */
export function registerSessionRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const secure = (req: FastifyRequest) =>
    ctx.config.secureCookies === 'auto' ? req.protocol === 'https' : ctx.config.secureCookies;
  const maxAge = Math.floor(ctx.config.sessionTtlMs / 1000);

  r.post(
    DASHBOARD_ROUTES.login,
    {
      schema: { body: LoginBody },
      preValidation: async (req, reply) => {
        // Login CSRF: a form on another site must not log the browser in.
        if (foreignOrigin(req)) return sendError(reply, 'csrf_failed');
        if (lockedOut(ctx, req, reply)) return reply;
      },
    },
    async (req, reply) => {
      const hash = ctx.config.adminPassword;
      if (!hash)
        return sendError(
          reply,
          'unauthorized',
          'Password login is off: KEYFLEET_ADMIN_PASSWORD is not set. Use the Bearer token.',
        );
      if (!(await verifyPassword(hash, req.body.password))) {
        ctx.authLimiter.recordFailure(req.ip);
        await audit(ctx, req, 'anonymous', 'login.failed', null);
        if (lockedOut(ctx, req, reply)) return reply;
        return sendError(reply, 'invalid_password');
      }
      const { id, session } = await ctx.sessions.create(req.ip);
      await audit(ctx, req, 'admin', 'login', null);
      reply.header(
        'set-cookie',
        sessionCookie(SESSION_COOKIE, id, { secure: secure(req), maxAgeSeconds: maxAge }),
      );
      return reply.send({ success: true, csrf_token: session.csrfToken, expires_in: maxAge });
    },
  );

  r.post(DASHBOARD_ROUTES.logout, { preValidation: requireAdmin(ctx) }, async (req, reply) => {
    const admin = adminOf(req);
    if (admin.via === 'session') {
      await ctx.sessions.destroy(readCookie(req.headers.cookie, SESSION_COOKIE));
      reply.header(
        'set-cookie',
        sessionCookie(SESSION_COOKIE, '', { secure: secure(req), maxAgeSeconds: 0 }),
      );
    }
    await audit(ctx, req, admin.actor, 'logout', null);
    return reply.send({ success: true });
  });

  r.get(DASHBOARD_ROUTES.session, { preValidation: requireAdmin(ctx) }, async (req, reply) => {
    const admin = adminOf(req);
    return reply.send({ success: true, via: admin.via, csrf_token: admin.session?.csrfToken ?? null });
  });
}
