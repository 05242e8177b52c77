import cliProgress from 'cli-progress';
import type { Phase } from '../../engine/push-run.js';
import type { SiteOutcome } from '../../engine/push-site.js';
import type { RunReport } from '../../engine/run-report.js';
import { describeSettings } from '../../engine/site-state.js';
import { maskSecrets } from '../../protocol/fingerprint.js';
import type { Reporter } from './reporter.js';
import { recapLines } from './recap.js';
import { terminalText } from '../../terminal/terminal-text.js';
import { STATUS_COLOR, colorsFor } from '../../terminal/style.js';

/**
 * Human output: a live bar with ok/failed counts on a terminal (failures printed above it as they
 * happen); plain lines, one per finished site, when stdout is not a terminal (logs, CI, pipes).
 */
export class HumanReporter implements Reporter {
  private readonly paint: ReturnType<typeof colorsFor>;
  private readonly tty: boolean;
  private bars: cliProgress.MultiBar | null = null;
  private bar: cliProgress.SingleBar | null = null;
  private counts = { ok: 0, failed: 0, skipped: 0, unchanged: 0 };
  private phaseName = '';

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly err: NodeJS.WriteStream,
    private readonly isVerbose: boolean,
    env: NodeJS.ProcessEnv,
  ) {
    this.paint = colorsFor(out, env);
    this.tty = out.isTTY === true;
  }

  private line(text: string): void {
    const safe = `${maskSecrets(text)}\n`;
    if (this.bars) this.bars.log(safe);
    else this.out.write(safe);
  }

  note(m: string) {
    this.line(m);
  }
  warn(m: string) {
    this.line(this.paint('yellow', `warning: ${m}`));
  }
  verbose(m: string) {
    if (this.isVerbose) this.line(this.paint('gray', m));
  }

  phase(phase: Phase | 'verify' | 'backup', sites: number) {
    this.stopBar();
    this.phaseName = phase;
    if (!this.tty) {
      this.line(`== ${phase}: ${sites} site${sites === 1 ? '' : 's'}`);
      return;
    }
    this.bars = new cliProgress.MultiBar(
      {
        stream: this.out,
        format: `${phase.padEnd(9)} [{bar}] {value}/{total}  ok {ok}  failed {failed}  unchanged {unchanged}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar = this.bars.create(sites, 0, this.counts);
  }

  site(o: SiteOutcome) {
    if (o.status !== 'pending') this.counts[o.status] += 1;
    const changes = o.changes.length ? ` [${describeSettings(o.changes)}]` : '';
    const status = this.paint(STATUS_COLOR[o.status], o.status.padEnd(9));
    const proto = o.protocol === 'seed' ? ' (seed)' : '';
    const text = `${status} ${o.url}${proto}${changes} (${o.duration_ms} ms, ${o.attempts} request${o.attempts === 1 ? "" : "s"})${proofText(o)}`;
    if (this.bar) {
      this.bar.increment(1, this.counts);
      // On a terminal only failures get a line of their own; the bar carries the rest.
      if (o.status === 'failed') this.line(text + errorText(o));
      else if (this.isVerbose) this.line(text);
    } else if (this.phaseName !== 'preflight' || o.status !== 'pending') {
      this.line(text + (o.status === 'failed' ? errorText(o) : ''));
    }
  }

  tick() {
    this.bar?.increment(1, this.counts);
  }

  finish(report: RunReport, extra?: { reason?: string | null; lines?: string[] }) {
    this.stopBar();
    for (const l of extra?.lines ?? []) this.line(l);
    for (const l of recapLines(report, extra?.reason ?? null, this.paint)) this.line(l);
  }

  private stopBar() {
    this.bars?.stop();
    this.bars = null;
    this.bar = null;
  }
}

/** What could not be proven on the site, said on its line (issue 9: never more proof than there is). */
function proofText(o: SiteOutcome): string {
  const parts: string[] = [];
  if (o.pending_proof) parts.push(`not yet verified: ${o.pending_proof}`);
  if (o.unverifiable?.length) parts.push(`written, unverifiable: ${describeSettings(o.unverifiable.map((u) => u.setting))}`);
  return parts.length ? `\n          ${parts.join('\n          ')}` : '';
}

function errorText(o: SiteOutcome): string {
  // The message quotes the site's own text: sanitised before it reaches the terminal (issue 12).
  return o.error
    ? `\n          ${o.error.code}: ${terminalText(o.error.message)}\n          fix: ${o.error.hint}`
    : '';
}
