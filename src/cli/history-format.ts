import { formatMaskedKeys } from '../keys/masked-key.js';
import type { RunRecord } from '../store/state-store.js';

/**
 * The three renderings of `keyfleet history`. Keys are shown from their MaskedKey (prefix/mode and
 * last4), never from a value: the store has none to give.
 */

/** The troubleshooting guide's propagation_history.csv columns first, so old tooling keeps reading it. */
export const CSV_COLUMNS = [
  'date',
  'user',
  'sites_file',
  'result',
  'run_id',
  'command',
  'dry_run',
  'state',
  'total',
  'ok',
  'failed',
  'skipped',
  'unchanged',
  'keys',
  'duration_ms',
] as const;

/**
 * The guide's `result` word: `success` when a finished run failed nowhere, `failed` when some site
 * failed, otherwise the run's state (`halted`, `cancelled`, `interrupted`, `running`).
 */
export function propagationResult(run: RunRecord): string {
  if (run.state !== 'done') return run.state;
  return run.summary.failed > 0 ? 'failed' : 'success';
}

/** ISO-8601 to the second in UTC, written as `date -Iseconds` writes it (`2026-11-27T05:34:12+00:00`). */
export function isoSeconds(iso: string): string {
  return `${iso.slice(0, 19)}+00:00`;
}

export function durationMs(run: RunRecord): number | null {
  return run.finished_at === null ? null : Date.parse(run.finished_at) - Date.parse(run.started_at);
}

/** RFC 4180: a field holding a quote, comma or line break is quoted, its quotes doubled. */
export function csvField(value: string | number | boolean | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function runsCsv(runs: readonly RunRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const run of runs) {
    const s = run.summary;
    const row = [
      isoSeconds(run.started_at),
      run.actor,
      run.sites_source,
      propagationResult(run),
      run.id,
      run.command,
      run.dry_run,
      run.state,
      s.total,
      s.ok,
      s.failed,
      s.skipped,
      s.unchanged,
      formatMaskedKeys(run.keys).join(' '),
      durationMs(run),
    ];
    lines.push(row.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Control characters (an escape sequence in a stored path or user name) must not reach the terminal. */
const printable = (text: string) => text.replace(/\p{Cc}/gu, '?');

const HEADERS = [
  'RUN',
  'STARTED (UTC)',
  'ACTOR',
  'COMMAND',
  'DRY-RUN',
  'STATE',
  'OK',
  'FAILED',
  'SKIPPED',
  'UNCHANGED',
  'TOTAL',
  'KEYS',
];
/** Counts are right-aligned so their digits line up. */
const NUMERIC = new Set([6, 7, 8, 9, 10]);

export function runsTable(runs: readonly RunRecord[]): string {
  const rows = runs.map((run) => {
    const s = run.summary;
    return [
      run.id,
      run.started_at.slice(0, 19).replace('T', ' '),
      run.actor,
      run.command,
      run.dry_run ? 'yes' : 'no',
      run.state,
      ...[s.ok, s.failed, s.skipped, s.unchanged, s.total].map(String),
      formatMaskedKeys(run.keys).join(' ') || '-',
    ].map(printable);
  });
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (NUMERIC.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return `${[line(HEADERS), ...rows.map(line)].join('\n')}\n`;
}
