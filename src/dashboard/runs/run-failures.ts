import type { RunRecord, SiteResult } from '../../store/state-store.js';

/** A run's failed sites with one code: the fix said once, a few sites to start from. */
export interface FailureGroup {
  code: string;
  count: number;
  /** The catalog's one-line fix (the first site's, every site of a code shares it). */
  hint: string;
  /** One site's message, as an example. */
  message: string;
  /** The first sites (in run order) that failed so, to run the doctor on. */
  sample: string[];
}

const SAMPLE = 5;

/**
 * The failures of a run grouped by code, largest group first (issue 11: 4,995 identical
 * `connection_refused` rows become one group with its count).
 *
 * @example failureGroups(results) // [{ code: 'connection_refused', count: 4995, hint: '…', sample: [...] }]
 */
export function failureGroups(results: readonly SiteResult[]): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const r of results) {
    if (r.status !== 'failed') continue;
    const code = r.error?.code ?? 'server_error';
    let g = groups.get(code);
    if (!g) {
      g = { code, count: 0, hint: r.error?.hint ?? '', message: r.error?.message ?? '', sample: [] };
      groups.set(code, g);
    }
    g.count += 1;
    if (g.sample.length < SAMPLE) g.sample.push(r.url);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
}

/**
 * What a run came to, in one word the console can colour truthfully: a run with any failed site
 * never reads as plain `completed` (issue 11 point 6).
 */
export type RunOutcome =
  | 'running'
  | 'completed'
  | 'completed_with_failures'
  | 'preview_ready'
  | 'preview_with_failures'
  | 'halted'
  | 'cancelled'
  | 'interrupted'
  | 'nothing_checked';

export function runOutcome(run: Pick<RunRecord, 'state' | 'dry_run' | 'summary'>): RunOutcome {
  const t = run.summary;
  if (run.state === 'running') return 'running';
  if (run.state === 'halted') return 'halted';
  if (run.state === 'cancelled') return 'cancelled';
  if (run.state === 'interrupted') return 'interrupted';
  if (t.total === 0) return 'nothing_checked';
  if (run.dry_run) return t.failed > 0 ? 'preview_with_failures' : 'preview_ready';
  return t.failed > 0 ? 'completed_with_failures' : 'completed';
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  // Quoted when needed; a leading = + - @ is prefixed so a spreadsheet never runs it as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
};

/** The run's sites as CSV (one header line, one line per site), messages as stored (masked). */
export function runCsv(results: readonly SiteResult[], names: ReadonlyMap<string, string>): string {
  const lines = [['url', 'name', 'status', 'code', 'message', 'hint', 'attempts', 'duration_ms'].join(',')];
  for (const r of results)
    lines.push(
      [r.url, names.get(r.url) ?? '', r.status, r.error?.code, r.error?.message, r.error?.hint, r.attempts, r.duration_ms]
        .map(csvCell)
        .join(','),
    );
  return `${lines.join('\n')}\n`;
}
