import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { SettingPutBody, SettingsPutBody, type HealthStripeBody } from '../../protocol/bodies.js';
import { fingerprint } from '../../protocol/fingerprint.js';
import { isValidKey } from '../../protocol/key-formats.js';
import { ROUTES } from '../../protocol/routes.js';
import { SETTINGS, SETTING_NAMES, isSettingName, type SettingName } from '../../protocol/settings.js';
import { checkApiKey } from '../api-key-guard.js';
import type { TemplateContext } from '../context.js';
import { sendError, sendSettingError } from '../errors.js';
import { authenticatedKeyView } from '../key-view.js';
import { AtomicWriteRefused } from '../settings-service.js';

const MAX_KEY_LENGTH = 4096;

/**
 * PUT /api/export/settings/:name — the allowlisted Stripe settings one by one, pushed by the
 * dashboard and the guide's scripts — and PUT /api/export/settings, the atomic write of several.
 */
export function registerSettingsRoutes(app: FastifyInstance, ctx: TemplateContext): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.put(
    ROUTES.settingPattern,
    {
      schema: { params: z.object({ name: z.string() }), body: SettingPutBody, summary: 'Set one Stripe setting (X-API-Key)' },
      // Auth and the allowlist come before the body is even read: a stranger learns nothing from a 400,
      // and a slow body from an unauthenticated client is not waited for.
      onRequest: async (req, reply) => {
        if (!(await checkApiKey(ctx, req, reply)).ok) return reply;
        if (!isSettingName(req.params.name)) return sendError(reply, 'unknown_setting');
      },
    },
    async (req, reply) => {
      const name = req.params.name;
      if (!isSettingName(name)) return sendError(reply, 'unknown_setting');
      const spec = SETTINGS[name];
      const value = req.body.value;
      if (value.length > MAX_KEY_LENGTH || !isValidKey(spec.kind, value)) return sendError(reply, spec.formatError);
      await ctx.settings.put(name, value, req.ip);
      ctx.metrics.settingUpdates.inc({ setting: name });
      req.log.info({ setting: name, fingerprint: fingerprint(value) }, 'setting updated');
      return reply.send({ success: true, message: spec.savedMessage });
    },
  );

  typed.put(
    ROUTES.settings,
    {
      schema: {
        body: SettingsPutBody,
        summary: 'Set several Stripe settings in one transaction (X-API-Key); answers the key view as committed',
        description:
          'Every value is validated first: any invalid value (bad format, unknown name) → 400 with the catalog code and `setting`, nothing written. ' +
          'A publishable and secret key of different modes after the merge with the stored values → 400 mixed_key_modes. ' +
          'Then all are written in one transaction; every instance serves them together. The 200 body is the ' +
          'authenticated GET /api/health/stripe view as committed. Supported when that view lists capability atomic_write.',
        security: [{ apiKey: [] }],
      },
      onRequest: async (req, reply) => {
        if (!(await checkApiKey(ctx, req, reply)).ok) return reply;
      },
    },
    async (req, reply) => {
      const entries = Object.entries(req.body.values);
      if (entries.length === 0) {
        return sendError(reply, 'invalid_request', `values is empty: give at least one of ${SETTING_NAMES.join(', ')}, e.g. {"values":{"stripe_publishable_key":"pk_test_…","stripe_secret_key":"sk_test_…"}}.`);
      }
      const values = new Map<SettingName, string>();
      for (const [name, value] of entries) {
        // 400, not the per-setting route's 404: the route exists, one value of the body is refused.
        if (!isSettingName(name)) return sendSettingError(reply, 'unknown_setting', name, undefined, 400);
        const spec = SETTINGS[name];
        if (value.length > MAX_KEY_LENGTH || !isValidKey(spec.kind, value)) return sendSettingError(reply, spec.formatError, name);
        values.set(name, value);
      }
      let committed;
      try {
        committed = await ctx.settings.putAtomic(values, req.ip);
      } catch (err) {
        if (err instanceof AtomicWriteRefused) return sendSettingError(reply, err.code, err.setting, err.message);
        throw err;
      }
      for (const [name, value] of values) {
        ctx.metrics.settingUpdates.inc({ setting: name });
        req.log.info({ setting: name, fingerprint: fingerprint(value), generation: committed.generation }, 'setting updated (atomic)');
      }
      const body: HealthStripeBody = authenticatedKeyView(committed);
      return reply.send(body);
    },
  );
}
