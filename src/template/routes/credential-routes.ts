import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ConfirmBody, RotateBody } from '../../protocol/bodies.js';
import { fingerprint } from '../../protocol/fingerprint.js';
import { ROUTES } from '../../protocol/routes.js';
import { CREDENTIAL_SETTINGS } from '../../protocol/settings.js';
import { SHARED_KEY_RETIRED, checkApiKey } from '../api-key-guard.js';
import { parseStoredHash, storedHash } from '../auth.js';
import type { TemplateContext } from '../context.js';
import { sendError } from '../errors.js';

const MIN_KEY_LENGTH = 32;

/**
 * Per-site credentials with no gap: `rotate` makes the site accept a new key as well (stored hashed)
 * while the calling key stays valid; `confirm`, called *with the new key*, makes it the site's key and
 * retires the previous one — and, if asked, the shared TEMPLATE_MASTER_API_KEY too.
 */
export function registerCredentialRoutes(app: FastifyInstance, ctx: TemplateContext): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const guard = async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    if (!(await checkApiKey(ctx, req, reply)).ok) return reply;
  };

  typed.post(
    ROUTES.rotateCredentials,
    { schema: { body: RotateBody, summary: 'Add a new API key for this site (X-API-Key)' }, onRequest: guard },
    async (req, reply) => {
      const key = req.body.new_key;
      if (/[\s\p{C}]/u.test(key)) return sendError(reply, 'invalid_request', 'new_key must not contain whitespace or control characters.');
      if (key.length < MIN_KEY_LENGTH) return sendError(reply, 'weak_key');
      await ctx.settings.putRaw(CREDENTIAL_SETTINGS.pending, storedHash(key), fingerprint(key), req.ip);
      req.log.info({ fingerprint: fingerprint(key) }, 'api key rotation started');
      return reply.send({ success: true, message: 'key_rotated' });
    },
  );

  typed.post(
    ROUTES.confirmCredentials,
    { schema: { body: ConfirmBody, summary: 'Confirm the rotated key, calling with it (X-API-Key)' }, onRequest: guard },
    async (req, reply) => {
      const presented = storedHash(String(req.headers['x-api-key']));
      const snap = await ctx.settings.forRead();
      const pending = snap.getRaw(CREDENTIAL_SETTINGS.pending);
      const current = snap.getRaw(CREDENTIAL_SETTINGS.current);
      if (pending !== undefined && parseStoredHash(pending) && pending === presented) {
        await ctx.settings.putRaw(CREDENTIAL_SETTINGS.current, pending, null, req.ip);
        await ctx.settings.deleteRaw(CREDENTIAL_SETTINGS.pending, req.ip);
      } else if (current !== presented) {
        return sendError(reply, 'no_pending_key');
      }
      if (req.body?.retire_shared_key) await ctx.settings.putRaw(SHARED_KEY_RETIRED, 'true', null, req.ip);
      req.log.info({ retire_shared_key: !!req.body?.retire_shared_key }, 'api key rotation confirmed');
      return reply.send({ success: true, message: 'key_confirmed' });
    },
  );
}
