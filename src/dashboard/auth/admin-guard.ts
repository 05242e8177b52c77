import type { FastifyReply, FastifyRequest } from 'fastify';
import { CSRF_FIELD, CSRF_HEADER } from '../../protocol/dashboard-routes.js';
import { keyMatches } from '../../template/auth.js';
import { sendError } from '../../template/errors.js';
import type { DashboardContext } from '../context.js';
import { csrfMatches, sessionIdOf, type Session } from './sessions.js';

/** Who made an admin request, for the audit log. */
export interface Admin {
  via: 'session' | 'token';
  /** `admin` (logged in) or `api-token` (Bearer KEYFLEET_ADMIN_TOKEN). */
  actor: string;
  session?: Session;
}

const admins = new WeakMap<FastifyRequest, Admin>();
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The admin the guard let through; only call from a route behind `requireAdmin`. */
export function adminOf(req: FastifyRequest): Admin {
  const a = admins.get(req);
  if (!a) throw new Error('adminOf() called on a route without requireAdmin');
  return a;
}

/** `Authorization: Bearer <token>` → the token, else undefined. */
export function bearer(req: FastifyRequest): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** A request whose Origin (when the browser sent one) is another site's: refused on every write. */
export function foreignOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.host;
  } catch {
    return true;
  }
}

/** Whether the session cookie is Secure (and `__Host-`): KEYFLEET_SECURE_COOKIES, else the request's scheme. */
export function cookieIsSecure(ctx: DashboardContext, req: FastifyRequest): boolean {
  return ctx.config.secureCookies === 'auto' ? req.protocol === 'https' : ctx.config.secureCookies;
}

/** Answers 429 with Retry-After when the address failed too often; true when it did. */
export function lockedOut(ctx: DashboardContext, req: FastifyRequest, reply: FastifyReply): boolean {
  const wait = ctx.authLimiter.retryAfter(req.ip);
  if (wait === 0) return false;
  reply.header('retry-after', String(wait));
  sendError(reply, 'too_many_attempts');
  return true;
}

/**
 * preValidation hook of every /api/admin/* route: a valid Bearer token, or a session cookie plus —
 * for anything but GET/HEAD/OPTIONS — the session's CSRF token and no foreign Origin. It runs after
 * the body is parsed (so the `_csrf` form field is readable) and before it is validated, so a
 * stranger learns nothing from a 400. The lockout applies to failures only: a valid token or session
 * is never locked out by someone else's bad guesses from the same address (a shared proxy, issue 12);
 * the token is at least 32 characters, so the lockout is not what keeps it from being guessed.
 */
export function requireAdmin(ctx: DashboardContext) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    const token = bearer(req);
    if (token !== undefined) {
      if (ctx.adminTokenHashes.length > 0 && keyMatches(token, ctx.adminTokenHashes)) {
        admins.set(req, { via: 'token', actor: 'api-token' });
        return;
      }
      if (lockedOut(ctx, req, reply)) return reply;
      ctx.authLimiter.recordFailure(req.ip);
      if (lockedOut(ctx, req, reply)) return reply;
      return sendError(reply, 'unauthorized', 'The Bearer token is not KEYFLEET_ADMIN_TOKEN.');
    }
    const session = await ctx.sessions.get(sessionIdOf(req.headers.cookie, cookieIsSecure(ctx, req)));
    if (!session) return lockedOut(ctx, req, reply) ? reply : sendError(reply, 'unauthorized');
    if (!SAFE_METHODS.has(req.method)) {
      const body = req.body as Record<string, unknown> | undefined;
      const presented =
        req.headers[CSRF_HEADER] ?? (body && typeof body === 'object' ? body[CSRF_FIELD] : undefined);
      if (foreignOrigin(req) || !csrfMatches(session, presented)) return sendError(reply, 'csrf_failed');
    }
    admins.set(req, { via: 'session', actor: session.actor, session });
  };
}
