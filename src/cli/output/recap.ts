import type { RunReport } from '../../engine/run-report.js';
import type { colorsFor } from '../../terminal/style.js';

/**
 * The end-of-run recap, like Ansible's PLAY RECAP: the counts on one line, then each failure
 * grouped by code with its one-line fix, then what to do next.
 */
export function recapLines(report: RunReport, reason: string | null, paint: ReturnType<typeof colorsFor>): string[] {
  const s = report.summary;
  const title = `${report.command.toUpperCase()} RECAP${report.dry_run ? ' (dry run: nothing was written)' : ''} `;
  const lines = ['', paint('bold', title.padEnd(72, '*'))];
  const keys = Object.entries(report.keys)
    .map(([name, k]) => `${name} …${k.last4} (${k.fingerprint})`)
    .join(', ');
  lines.push(`run ${report.run_id} · ${s.total} sites${keys ? ` · ${keys}` : ''}`);
  lines.push(
    [
      paint('green', `ok=${s.ok}`),
      paint(s.failed ? 'red' : 'gray', `failed=${s.failed}`),
      paint(s.skipped ? 'yellow' : 'gray', `skipped=${s.skipped}`),
      paint('cyan', `unchanged=${s.unchanged}`),
    ].join('  '),
  );
  const byCode = new Map<string, { hint: string; urls: string[] }>();
  for (const site of report.sites) {
    if (!site.error) continue;
    const entry = byCode.get(site.error.code) ?? { hint: site.error.hint, urls: [] };
    entry.urls.push(site.url);
    byCode.set(site.error.code, entry);
  }
  for (const [code, { hint, urls }] of byCode) {
    lines.push(paint('red', `${code} (${urls.length}):`) + ` ${urls.slice(0, 5).join(' ')}${urls.length > 5 ? ` … and ${urls.length - 5} more` : ''}`);
    lines.push(`  fix: ${hint}`);
  }
  if (reason) lines.push(paint('red', `halted: ${reason}`));
  if (report.state === 'cancelled' || report.state === 'interrupted') {
    lines.push(`cancelled: resume with keyfleet ${report.command} --resume ${report.run_id}`);
  } else if (s.failed > 0 && report.command === 'push') {
    lines.push(`retry the failures: keyfleet push --retry-failed ${report.run_id} …`);
  }
  return lines;
}
