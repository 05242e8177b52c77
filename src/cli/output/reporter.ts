import type { Phase } from '../../engine/push-run.js';
import type { SiteOutcome } from '../../engine/push-site.js';
import type { RunReport } from '../../engine/run-report.js';

/**
 * Every command prints through one reporter: human (a live progress bar on a terminal, one line per
 * site otherwise) or JSON (one document on stdout, notes on stderr). Everything written passes
 * through maskSecrets, whatever the caller handed in.
 */
export interface Reporter {
  /** A note for the operator (stderr in JSON mode). */
  note(message: string): void;
  warn(message: string): void;
  phase(phase: Phase | 'verify' | 'backup', sites: number): void;
  site(outcome: SiteOutcome): void;
  /** One more site done in this phase without a final status yet (passed preflight). */
  tick(): void;
  /** Debug detail, only with --verbose. */
  verbose(message: string): void;
  finish(report: RunReport, extra?: { reason?: string | null; lines?: string[] }): void;
}
