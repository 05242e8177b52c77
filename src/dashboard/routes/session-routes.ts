import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import { sendError } from '../../template/errors.js';
import { LoginBody } from '../api-schemas.js';
import { audit } from '../audit.js';
import { adminOf, cookieIsSecure, foreignOrigin, requireAdmin } from '../auth/admin-guard.js';
import { verifyPassword } from '../auth/password.js';
import { sessionCookie, sessionCookieName, sessionIdOf } from '../auth/sessions.js';
import type { DashboardContext } from '../context.js';

/**
 * Login, logout and "who am I". Login takes `{"password":…}` as JSON or a form, is limited per
 * address (429 with Retry-After past KEYFLEET_LOGIN_FAILURES_PER_MINUTE failures), and answers with
 * the session's CSRF token; the session id travels only in the HttpOnly, SameSite=Strict cookie.
 */
export function registerSessionRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const secure = (req: FastifyRequest) => cookieIsSecure(ctx, req);
  const maxAge = Math.floor(ctx.config.sessionTtlMs / 1000);
  const cookieName = (req: FastifyRequest) => sessionCookieName(secure(req));
  const tooMany = (reply: FastifyReply, wait: number) => {
    reply.header('retry-after', String(wait));
    return sendError(reply, 'too_many_attempts');
  };

  r.post(
    DASHBOARD_ROUTES.login,
    {
      schema: { body: LoginBody },
      preValidation: async (req, reply) => {
        // Login CSRF: a form on another site must not log the browser in.
        if (foreignOrigin(req)) return sendError(reply, 'csrf_failed');
        const wait = ctx.loginGate.retryAfter(req.ip);
        if (wait > 0) return tooMany(reply, wait);
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
      // Counted before the slow hash, one check per address at a time, a few at once overall.
      const pass = ctx.loginGate.enter(req.ip);
      if (!pass.ok) return tooMany(reply, pass.retryAfter);
      let ok = false;
      try {
        await pass.wait();
        ok = await verifyPassword(hash, req.body.password);
      } finally {
        pass.leave(ok);
      }
      if (!ok) {
        await audit(ctx, req, 'anonymous', 'login.failed', null);
        return sendError(reply, 'invalid_password');
      }
      const { id, session } = await ctx.sessions.create(req.ip);
      await audit(ctx, req, 'admin', 'login', null);
      reply.header(
        'set-cookie',
        sessionCookie(cookieName(req), id, { secure: secure(req), maxAgeSeconds: maxAge }),
      );
      return reply.send({ success: true, csrf_token: session.csrfToken, expires_in: maxAge });
    },
  );

  r.post(DASHBOARD_ROUTES.logout, { preValidation: requireAdmin(ctx) }, async (req, reply) => {
    const admin = adminOf(req);
    if (admin.via === 'session') {
      await ctx.sessions.destroy(sessionIdOf(req.headers.cookie, secure(req)));
      reply.header(
        'set-cookie',
        sessionCookie(cookieName(req), '', { secure: secure(req), maxAgeSeconds: 0 }),
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
