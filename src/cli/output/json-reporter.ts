import type { RunReport } from '../../engine/run-report.js';
import { maskSecrets } from '../../protocol/fingerprint.js';
import type { Reporter } from './reporter.js';

/** Sites per slice of the JSON report. */
const REPORT_SLICE = 500;

/** JSON output (--json): one document on stdout when the run finishes; notes and warnings on stderr. */
export class JsonReporter implements Reporter {
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
