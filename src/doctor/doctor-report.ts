import { colorsFor } from '../terminal/style.js';
import { terminalText } from '../terminal/terminal-text.js';
import { ERROR_CATALOG } from '../protocol/error-catalog.js';
import { maskSecrets } from '../protocol/fingerprint.js';
import type { CheckStatus } from './check.js';
import type { SiteResult, Verdict } from './ladder.js';

/**
 * What `keyfleet doctor` prints: for one site, every check on its own line and the diagnosis (fix
 * and curl command); for a fleet, one table row per site (site, verdict, diagnosis, latency) and the
 * count of sites per diagnosis with its fix; with `--json`, the site object (one site) or an array
 * of them. Colours follow the terminal and NO_COLOR; every line goes through maskSecrets whatever
 * a site sent back.
 */
type Paint = ReturnType<typeof colorsFor>;

const COLOR: Readonly<Record<CheckStatus, 'green' | 'yellow' | 'red' | 'gray'>> = {
  pass: 'green',
  warn: 'yellow',
  fail: 'red',
  skip: 'gray',
};

export interface ReportStreams {
  out: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export function writeJson(results: readonly SiteResult[], fleet: boolean, out: NodeJS.WritableStream): void {
  const reports = results.map((r) => r.report);
  out.write(`${maskSecrets(JSON.stringify(fleet ? reports : (reports[0] ?? null)))}\n`);
}

export function siteLines(result: SiteResult, paint: Paint): string[] {
  const { report } = result;
  const lines = [paint('bold', `keyfleet doctor ${report.url}`), ''];
  for (const check of report.checks) {
    const status = paint(COLOR[check.status], check.status.toUpperCase().padEnd(4));
    const ms = `${check.duration_ms} ms`.padStart(8);
    // A check's detail may quote the site: sanitised for the terminal (issue 12).
    lines.push(`  ${status}  ${check.name.padEnd(13)} ${ms}  ${terminalText(check.detail)}`);
  }
  lines.push('', `verdict: ${paint(COLOR[result.verdict], result.verdict)}`);
  const d = report.diagnosis;
  if (d === null) {
    lines.push('diagnosis: none: every check passed');
  } else {
    lines.push(
      `diagnosis: ${paint(result.verdict === 'fail' ? 'red' : 'yellow', d.code)}: ${ERROR_CATALOG[d.code].message}`,
    );
    lines.push(`  fix:       ${d.hint}`);
    lines.push(`  reproduce: ${d.reproduce}`);
  }
  return lines;
}

const MAX_SITE_WIDTH = 60;

export function fleetLines(results: readonly SiteResult[], paint: Paint): string[] {
  const width = Math.min(MAX_SITE_WIDTH, Math.max(4, ...results.map((r) => r.report.url.length)));
  const header = `${'SITE'.padEnd(width)}  ${'VERDICT'.padEnd(7)}  ${'DIAGNOSIS'.padEnd(22)}  ${'LATENCY'.padStart(8)}`;
  const lines = [paint('bold', header)];
  for (const r of results) {
    const site =
      r.report.url.length > width ? `${r.report.url.slice(0, width - 1)}…` : r.report.url.padEnd(width);
    const verdict = paint(COLOR[r.verdict], r.verdict.padEnd(7));
    const code = (r.report.diagnosis?.code ?? '-').padEnd(22);
    const latency = (r.latencyMs === null ? '-' : `${r.latencyMs} ms`).padStart(8);
    lines.push(`${site}  ${verdict}  ${code}  ${latency}`);
  }
  lines.push('', summaryLine(results, paint));
  const byCode = new Map<string, { count: number; hint: string; verdict: Verdict }>();
  for (const r of results) {
    const d = r.report.diagnosis;
    if (d === null) continue;
    const entry = byCode.get(d.code) ?? { count: 0, hint: ERROR_CATALOG[d.code].hint, verdict: r.verdict };
    entry.count += 1;
    if (r.verdict === 'fail') entry.verdict = 'fail';
    byCode.set(d.code, entry);
  }
  if (byCode.size > 0) {
    lines.push('', paint('bold', 'by diagnosis:'));
    const sorted = [...byCode].sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]));
    for (const [code, { count, hint, verdict }] of sorted) {
      lines.push(`  ${paint(COLOR[verdict], code.padEnd(22))} ${String(count).padStart(6)}  fix: ${hint}`);
    }
    lines.push('', 'details and the curl command for one site: keyfleet doctor <url>');
  }
  return lines;
}

function summaryLine(results: readonly SiteResult[], paint: Paint): string {
  const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  const [ok, warned, failed] = [count('pass'), count('warn'), count('fail')];
  return [
    `${results.length} site${results.length === 1 ? '' : 's'}:`,
    paint('green', `pass=${ok}`),
    paint(warned ? 'yellow' : 'gray', `warn=${warned}`),
    paint(failed ? 'red' : 'gray', `fail=${failed}`),
  ].join('  ');
}

/** Prints the report for humans: one site in full, or the fleet table. */
export function writeText(results: readonly SiteResult[], fleet: boolean, streams: ReportStreams): void {
  const paint = colorsFor(streams.out, streams.env);
  const result = results[0];
  const lines = fleet || result === undefined ? fleetLines(results, paint) : siteLines(result, paint);
  streams.out.write(`${lines.map((l) => maskSecrets(l)).join('\n')}\n`);
}
