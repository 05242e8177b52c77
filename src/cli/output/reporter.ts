import type { Phase } from '../../engine/push-run.js';
import type { SiteOutcome } from '../../engine/push-site.js';
import type { RunReport } from '../../engine/run-report.js';
import { maskSecrets } from '../../protocol/fingerprint.js';
import { HumanReporter } from './human-reporter.js';

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

export interface ReporterOptions {
  json: boolean;
  verbose: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

/** Sites per slice of the JSON report. */
const REPORT_SLICE = 500;

class JsonReporter implements Reporter {
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly err: NodeJS.WriteStream,
    private readonly isVerbose: boolean,
  ) {}
  note(m: string) {
    this.err.write(`${maskSecrets(m)}\n`);
  }
  warn(m: string) {
    this.err.write(`warning: ${maskSecrets(m)}\n`);
  }
  phase() {}
  site() {}
  tick() {}
  verbose(m: string) {
    if (this.isVerbose) this.err.write(`${maskSecrets(m)}\n`);
  }
  finish(report: RunReport, extra?: { reason?: string | null }) {
    if (extra?.reason) this.err.write(`halted: ${maskSecrets(extra.reason)}\n`);
    // One document, written in slices: at 50,000 sites a single string (and its masked copy) would
    // be the largest allocation of the whole run. `sites` is the last member of the report.
    const { sites, ...head } = report;
    const opening = JSON.stringify(head);
    this.out.write(`${maskSecrets(opening.slice(0, -1))},"sites":[`);
    for (let i = 0; i < sites.length; i += REPORT_SLICE) {
      const slice = JSON.stringify(sites.slice(i, i + REPORT_SLICE));
      this.out.write(`${i === 0 ? '' : ','}${maskSecrets(slice.slice(1, -1))}`);
    }
    this.out.write(']}\n');
  }
}

export function createReporter(o: ReporterOptions): Reporter {
  const out = o.stdout ?? process.stdout;
  const err = o.stderr ?? process.stderr;
  return o.json ? new JsonReporter(out, err, o.verbose) : new HumanReporter(out, err, o.verbose, o.env ?? process.env);
}
