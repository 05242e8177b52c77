import type { FastifyRequest } from 'fastify';
import type { AuditEntry } from '../store/fleet-store.js';
import type { DashboardContext } from './context.js';

/**
 * Appends one mutation to the audit log: who (`admin`, `api-token`, `register`), what (`site.add`,
 * `keys.create`, `run.start`, …), on what (a site id, a run id, a version id) and the request's
 * address. `detail` names things — URLs, tags, fingerprints — never a value; the store masks
 * anything secret-shaped again.
 */
export function audit(
  ctx: DashboardContext,
  req: FastifyRequest,
  actor: string,
  action: string,
  target: string | null,
  detail: Record<string, unknown> = {},
): Promise<AuditEntry> {
  return ctx.state.fleet.audit({ actor, action, target, detail: { ...detail, ip: req.ip } });
}
