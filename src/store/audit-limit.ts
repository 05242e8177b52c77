/** Rows `listAudit()` returns when the caller gives no limit. */
export const DEFAULT_AUDIT_LIMIT = 100;

/** Upper bound, so a typo in a CLI flag cannot pull an entire audit history into memory. */
export const MAX_AUDIT_LIMIT = 10_000;

/**
 * Turns a caller's `listAudit` limit into a positive integer both backends can bind.
 *
 * @example auditLimit(undefined) === 100; auditLimit(0) === 1; auditLimit(1e9) === 10_000
 */
export function auditLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_AUDIT_LIMIT;
  return Math.min(Math.max(Math.trunc(limit), 1), MAX_AUDIT_LIMIT);
}
