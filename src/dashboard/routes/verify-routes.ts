import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DASHBOARD_ROUTES } from '../../protocol/dashboard-routes.js';
import { audit } from '../audit.js';
import { adminOf, requireAdmin } from '../auth/admin-guard.js';
import type { DashboardContext } from '../context.js';

/** The longest a request waits for a sweep (`wait`, `wait_for_sweep`) before answering anyway. */
const MAX_WAIT_MS = 120_000;

const VerifyQuery = z.object({ wait_for_sweep: z.coerce.number().int().min(1).optional() });
const VerifyBody = z
  .object({
    wait: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
    /** Only these sites (ids, names or URLs)… */
    sites: z.array(z.string().max(2048)).max(500).optional(),
    /** …or only the sites with this status (`unchecked`: imported and never read). */
    problem: z.enum(['unchecked', 'unreachable', 'any']).optional(),
  })
  .nullish();

/**
 * The periodic verify: its status (GET; `?wait_for_sweep=N` answers once N sweeps have finished,
 * for a UI that wants to refresh right after one), and "verify every site now" (POST; `{"wait":true}`
 * answers when the sweep is done).
 */
export function registerVerifyRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const guard = requireAdmin(ctx);

  r.get(
    DASHBOARD_ROUTES.verify,
    { preValidation: guard, schema: { querystring: VerifyQuery } },
    async (req) => {
      if (req.query.wait_for_sweep !== undefined)
        await ctx.verifier.waitFor(req.query.wait_for_sweep, MAX_WAIT_MS);
      return { success: true, ...ctx.verifier.status() };
    },
  );

  r.post(
    DASHBOARD_ROUTES.verify,
    { preValidation: guard, schema: { body: VerifyBody } },
    async (req, reply) => {
      const scope = {
        ...(req.body?.sites ? { refs: req.body.sites } : {}),
        ...(req.body?.problem ? { status: req.body.problem } : {}),
      };
      await audit(ctx, req, adminOf(req).actor, 'verify.start', null, scope);
      const sweep = ctx.verifier.sweep(scope);
      if (req.body?.wait) {
        await Promise.race([sweep, new Promise((resolve) => setTimeout(resolve, MAX_WAIT_MS).unref())]);
        return { success: true, ...ctx.verifier.status() };
      }
      return reply.code(202).send({ success: true, ...ctx.verifier.status() });
    },
  );
}
