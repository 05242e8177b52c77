import type { SiteOutcome } from '../../engine/push-site.js';
import { keyMode } from '../../protocol/key-formats.js';
import type { SiteHealth } from '../../store/fleet-store.js';
import type { MaskedKey } from '../../store/state-store.js';

/** Failures that mean the site could not be reached at all (as opposed to answering wrongly). */
export const UNREACHABLE: ReadonlySet<string> = new Set([
  'timeout',
  'connection_refused',
  'connection_reset',
  'dns_not_found',
  'tls_error',
  'insecure_url',
  'bad_gateway',
  'service_unavailable',
  'gateway_timeout',
]);

/**
 * What a run's outcome for a site says about the site's live status: a real push that verified
 * means every pushed setting is as desired; a dry run (or a verify) that found settings to change
 * means drift; a failure means a problem, named by its catalog code. Skipped and pending sites say
 * nothing (null).
 */
export function healthFromOutcome(
  o: SiteOutcome,
  version: { id: string; keys: Record<string, MaskedKey> } | null,
  dryRun: boolean,
): SiteHealth | null {
  if (o.status === 'skipped' || o.status === 'pending') return null;
  const base = {
    checked_at: new Date().toISOString(),
    latency_ms: o.attempts > 0 ? Math.round(o.duration_ms / o.attempts) : null,
    version_id: version?.id ?? null,
  };
  if (o.status === 'failed') {
    const code = o.error?.code ?? 'server_error';
    return {
      ...base,
      reachable: !UNREACHABLE.has(code),
      pk_as_desired: null,
      sk_as_desired: null,
      mode: null,
      problem: code,
    };
  }
  const pending = dryRun ? o.changes : [];
  const has = (setting: string) => (version?.keys[setting] ? !pending.includes(setting as never) : null);
  const pk = has('stripe_publishable_key');
  return {
    ...base,
    reachable: true,
    pk_as_desired: pk,
    sk_as_desired: has('stripe_secret_key'),
    // After a real push the site holds the desired pk; otherwise its pk is what it had before.
    mode:
      !dryRun && pk
        ? (version?.keys.stripe_publishable_key?.mode ?? null)
        : keyMode(o.before?.publishable_key),
    problem: pending.length > 0 ? 'drift' : null,
  };
}
