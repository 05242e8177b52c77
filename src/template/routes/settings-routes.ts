import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { SettingPutBody } from '../../protocol/bodies.js';
import { fingerprint } from '../../protocol/fingerprint.js';
import { isValidKey } from '../../protocol/key-formats.js';
import { ROUTES } from '../../protocol/routes.js';
import { SETTINGS, isSettingName } from '../../protocol/settings.js';
import { checkApiKey } from '../api-key-guard.js';
import type { TemplateContext } from '../context.js';
import { sendError } from '../errors.js';

const MAX_KEY_LENGTH = 4096;

/** PUT /api/export/settings/:name — the allowlisted Stripe settings, pushed by the dashboard. */
export function registerSettingsRoutes(app: FastifyInstance, ctx: TemplateContext): void {
  app.withTypeProvider<ZodTypeProvider>().put(
    ROUTES.settingPattern,
    {
      schema: { params: z.object({ name: z.string() }), body: SettingPutBody, summary: 'Set one Stripe setting (X-API-Key)' },
      // Auth and the allowlist come before body validation: a stranger learns nothing from a 400.
      preValidation: async (req, reply) => {
        if (!checkApiKey(ctx, req, reply).ok) return reply;
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
}
