import type { SettingName } from '../protocol/settings.js';
import type { MaskedKey, RunRecord, SiteResult } from '../store/state-store.js';

/**
 * The one report shape of push, verify and rollback (DESIGN §2 `--json`). Keys appear masked only
 * (last4 + fingerprint); per-site `changes` lists the settings written, or to be written in a dry run.
 */
export interface RunReport {
  run_id: string;
  command: RunRecord['command'];
  dry_run: boolean;
  state: RunRecord['state'];
  started_at: string;
  finished_at: string | null;
  keys: Record<string, { last4: string; fingerprint: string }>;
  summary: RunRecord['summary'];
  sites: Array<{
    url: string;
    status: SiteResult['status'];
    verified: boolean;
    attempts: number;
    duration_ms: number;
    changes: SettingName[];
    error: SiteResult['error'];
    /** Issue 9: how the site was spoken to, what it cannot prove, and why it is not yet verified. */
    protocol?: SiteResult['protocol'];
    unverifiable?: SiteResult['unverifiable'];
    pending_proof?: string;
    /** Who worked the site (KEYFLEET_WORKER_NAME, else host:pid); null when not recorded. */
    worker: string | null;
  }>;
}

/** Setting name → the name reports (and the dashboard API) use for it. */
export const REPORT_KEY_NAMES: Readonly<Record<string, string>> = {
  stripe_publishable_key: 'publishable_key',
  stripe_secret_key: 'secret_key',
  stripe_webhook_secret: 'webhook_secret',
  stripe_price_id: 'price_id',
};

/** `results` as the store reads them: each carries the settings it wrote (or, dry run, would write). */
export function buildReport(run: RunRecord, results: SiteResult[]): RunReport {
  const keys: RunReport['keys'] = {};
  for (const [name, k] of Object.entries(run.keys) as Array<[string, MaskedKey]>) {
    keys[REPORT_KEY_NAMES[name] ?? name] = { last4: k.last4, fingerprint: k.fingerprint };
  }
  return {
    run_id: run.id,
    command: run.command,
    dry_run: run.dry_run,
    state: run.state,
    started_at: run.started_at,
    finished_at: run.finished_at,
    keys,
    summary: run.summary,
    sites: results.map((r) => ({
      url: r.url,
      status: r.status,
      verified: r.verified,
      attempts: r.attempts,
      duration_ms: r.duration_ms,
      changes: r.changes ?? [],
      error: r.error,
      ...(r.protocol === undefined ? {} : { protocol: r.protocol }),
      ...(r.unverifiable === undefined ? {} : { unverifiable: r.unverifiable }),
      ...(r.pending_proof === undefined ? {} : { pending_proof: r.pending_proof }),
      worker: r.worker ?? null,
    })),
  };
}
