import type { SiteView } from '../dashboard/fleet/site-views.js';
import { terminalText } from '../terminal/terminal-text.js';

/**
 * How `keyfleet sites ls` shows the registry: one aligned row per site. A site's own API key is
 * shown as `yes`/`no` only (the store has nothing else to give: it is sealed); names and URLs come
 * from whoever added the site, so control characters are neutralised before they reach a terminal.
 */

/** An escape sequence in a stored name must not reach the terminal (terminal/terminal-text.ts). */
export const printable = terminalText;

/** The dashboard's status words (web UI format.siteStatus), with the problem's code when there is one. */
export function siteStatusWord(site: SiteView): string {
  if (site.approval === 'pending') return 'pending approval';
  const h = site.health;
  if (!h) return 'unchecked';
  if (!h.reachable) return h.problem ? `unreachable (${h.problem})` : 'unreachable';
  if (h.problem && h.problem !== 'drift') return `error (${h.problem})`;
  if (site.drift === 'drifted') return 'drifted';
  if (site.drift === 'in_sync') return 'in sync';
  return 'no desired keys';
}

const HEADERS = ['ID', 'NAME', 'URL', 'TAGS', 'OWN API KEY', 'STATUS', 'LAST CHECKED (UTC)'];

export function sitesTable(sites: readonly SiteView[]): string {
  const rows = sites.map((s) =>
    [
      s.id,
      s.name,
      s.url,
      s.tags.join(',') || '-',
      s.has_api_key ? 'yes' : 'no',
      siteStatusWord(s),
      s.health ? s.health.checked_at.slice(0, 19).replace('T', ' ') : 'never',
    ].map(printable),
  );
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return `${[line(HEADERS), ...rows.map(line)].join('\n')}\n`;
}
