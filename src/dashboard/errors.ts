import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../protocol/error-catalog.js';
import { SiteExistsError } from '../store/fleet-store.js';
import { sendError, templateErrorHandler } from '../template/errors.js';

/**
 * An error a dashboard route answers with: one catalog code (its status and default message) and,
 * optionally, a message for this case. Thrown anywhere below a route; the error handler sends it.
 */
export class DashboardError extends Error {
  readonly hasMessage: boolean;
  constructor(
    readonly code: ErrorCode,
    message?: string,
  ) {
    super(message ?? code);
    this.name = 'DashboardError';
    this.hasMessage = message !== undefined;
  }
}

/**
 * The dashboard's error handler: its own errors by code, the store's refusals (a taken URL, a name
 * or tag it cannot use) as 409/400, and Fastify's errors the same way as the template site's.
 * Every message goes out masked (sendError).
 */
export function dashboardErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const e = error as unknown;
  if (e instanceof DashboardError) return sendError(reply, e.code, e.hasMessage ? e.message : undefined);
  if (e instanceof SiteExistsError) return sendError(reply, 'site_exists', e.message);
  // Fastify's own limits are RangeErrors too (a body over 1 MB): those keep their status (413).
  if (e instanceof RangeError && !String(error.code ?? '').startsWith('FST_'))
    return sendError(reply, 'invalid_request', e.message);
  return templateErrorHandler(error, request, reply);
}
