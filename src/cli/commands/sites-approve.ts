import { normaliseSiteUrl } from '../../engine/site-url.js';
import { EXIT } from '../../protocol/error-catalog.js';
import { catalogError } from '../../protocol/cli-error.js';
import { printable } from '../sites-format.js';
import { LIST_HINT, openRegistry, out, who } from '../sites-registry.js';
import type { SitesOptions } from './sites.js';

/**
 * `keyfleet sites approve <id|name|url>` (issue 12): a site that registered itself with the
 * registration token waits `pending` and is sent nothing; this approves it in the dashboard's state
 * database, audited as `site.approve` (actor `cli:<user>`). The CLI starts no push: the dashboard's
 * next run (or POST /api/admin/sites/:id/approve, which pushes at once) brings the site its keys.
 */
export async function sitesApprove(opts: SitesOptions): Promise<number> {
  const ref = String(opts._args?.[0] ?? '');
  const state = await openRegistry(false);
  try {
    let site = await state?.fleet.getSite(ref);
    const normal = normaliseSiteUrl(ref);
    if (!site && normal.ok) site = await state?.fleet.getSite(normal.url);
    if (!state || !site)
      throw catalogError('site_not_found', `No registered site "${printable(ref)}" (by id, name or URL).`, LIST_HINT);
    if (site.approval === 'approved') {
      out(`already approved ${site.id}  ${printable(site.name)}  ${site.url}\n`);
      return EXIT.ok;
    }
    await state.fleet.updateSite(site.id, { approvedBy: who() });
    await state.fleet.audit({
      actor: who(),
      action: 'site.approve',
      target: site.id,
      detail: { url: site.url, name: site.name, via: 'cli' },
    });
    out(`approved ${site.id}  ${printable(site.name)}  ${site.url}  (the dashboard pushes its keys on the next run)\n`);
    return EXIT.ok;
  } finally {
    await state?.close();
  }
}
