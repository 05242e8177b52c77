import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_KEY_HEADER } from '../protocol/routes.js';
import { CREDENTIAL_SETTINGS } from '../protocol/settings.js';
import { keyMatches, parseStoredHash } from './auth.js';
import type { TemplateContext } from './context.js';
import { sendError } from './errors.js';
import type { SettingsSnapshot } from './settings-snapshot.js';

/** admin_settings row that records that the shared TEMPLATE_MASTER_API_KEY no longer opens this site. */
export const SHARED_KEY_RETIRED = 'template_shared_key_retired';

/** Every key this site accepts in `snap` (default: the cached snapshot), as SHA-256 hashes. */
export function acceptedKeyHashes(ctx: TemplateContext, snap: SettingsSnapshot = ctx.settings.current()): Buffer[] {
  const out: Buffer[] = [];
  if (snap.getRaw(SHARED_KEY_RETIRED) !== 'true') out.push(...ctx.sharedKeyHashes);
  for (const row of [CREDENTIAL_SETTINGS.current, CREDENTIAL_SETTINGS.pending]) {
    const h = parseStoredHash(snap.getRaw(row));
    if (h) out.push(h);
  }
  return out;
}

export type AuthResult = { ok: true; keyHash: Buffer } | { ok: false };

/**
 * Checks X-API-Key. On failure it has already answered (401, or 429 with Retry-After once an address
 * failed more than the limit within a minute); a locked-out address is refused before its key is checked.
 */
export async function checkApiKey(ctx: TemplateContext, request: FastifyRequest, reply: FastifyReply): Promise<AuthResult> {
  const address = request.ip;
  // Checked before the body is read (onRequest): a refused client's body is not waited for.
  if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined) {
    reply.header('connection', 'close');
  }
  const wait = ctx.limiter.retryAfter(address);
  if (wait > 0) {
    reply.header('retry-after', String(wait));
    sendError(reply, 'too_many_attempts');
    return { ok: false };
  }
  const presented = request.headers[API_KEY_HEADER];
  // A key rotated through another instance a moment ago is known here too (read-after-write).
  const snap = await ctx.settings.forRead();
  const match = typeof presented === 'string' && presented.length > 0 ? keyMatches(presented, acceptedKeyHashes(ctx, snap)) : null;
  if (match) {
    reply.removeHeader('connection');
    return { ok: true, keyHash: match };
  }
  ctx.metrics.authFailures.inc();
  ctx.limiter.recordFailure(address);
  const after = ctx.limiter.retryAfter(address);
  if (after > 0) {
    reply.header('retry-after', String(after));
    sendError(reply, 'too_many_attempts');
  } else {
    sendError(reply, 'invalid_api_key');
  }
  return { ok: false };
}
