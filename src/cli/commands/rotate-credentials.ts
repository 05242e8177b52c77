import { RotationError, rotateSiteCredentials } from '../../engine/rotate-credentials.js';
import { SiteError } from '../../engine/site-error.js';
import { EXIT } from '../../protocol/error-catalog.js';
import { openStateStore } from '../../store/open-state-store.js';
import { usageError } from '../../protocol/cli-error.js';
import { confirmWrite } from '../confirm.js';
import { actor, clientFor, type FleetOptions } from '../fleet-options.js';
import { createReporter } from '../output/create-reporter.js';

export interface RotateCredentialsOptions extends FleetOptions {
  site?: string[];
  retireSharedKey?: boolean;
  yes?: boolean;
  force?: boolean;
}

/**
 * `keyfleet rotate-credentials`: give sites of the registry (the dashboard's, in the same state
 * database) their own API key, one at a time, with no gap (rotate → seal in the vault → confirm).
 * With --retire-shared-key each site then stops accepting TEMPLATE_MASTER_API_KEY. Sites are chosen
 * by --site (id, name or URL, repeatable) or --tag; neither means every registered site.
 */
export async function rotateCredentials(opts: RotateCredentialsOptions): Promise<number> {
  const reporter = createReporter({ json: false, verbose: opts.verbose === true });
  const out = (line: string) => reporter.note(line);
  const state = await openStateStore({ eagerVaultKey: true, log: (m) => reporter.warn(m) });
  try {
    let sites = await state.fleet.listSites(opts.tag ? { tags: [opts.tag] } : undefined);
    if (opts.site?.length) {
      const wanted = await Promise.all(opts.site.map((ref) => state.fleet.getSite(ref)));
      const missing = opts.site.filter((_ref, i) => !wanted[i]);
      if (missing.length) throw usageError(`no registered site ${missing.join(', ')}.`, 'See the dashboard, or add the site there first.');
      const ids = new Set(wanted.map((s) => s?.id));
      sites = sites.filter((s) => ids.has(s.id));
    }
    // A site that registered itself and waits for approval is sent no key at all (issue 12).
    const pending = sites.filter((s) => s.approval === 'pending');
    for (const s of pending) reporter.warn(`${s.url} waits for approval (keyfleet sites approve ${s.id}): not rotated`);
    sites = sites.filter((s) => s.approval !== 'pending');
    if (sites.length === 0) throw usageError('no registered site to rotate.', 'Add sites in the dashboard (or its API: POST /api/admin/sites) first.');
    const retire = opts.retireSharedKey === true;
    await confirmWrite(`About to give ${sites.length} site(s) a new API key${retire ? ' and retire the shared key on them' : ''}.`, opts);
    const client = clientFor(opts, reporter);
    const master = process.env.TEMPLATE_MASTER_API_KEY?.split(',')[0]?.trim() || null;
    let failed = 0;
    try {
      for (const site of sites) {
        try {
          const r = await rotateSiteCredentials(client, state.fleet, site, master, retire);
          await state.fleet.audit({ actor: actor(), action: 'site.rotate_credentials', target: site.id, detail: { url: site.url, api_key_fingerprint: r.fingerprint, retire_shared_key: retire, via: 'cli' } });
          out(`ok      ${site.url}  new key ${r.fingerprint}`);
        } catch (err) {
          if (!(err instanceof RotationError)) throw err;
          failed++;
          const cause = err.cause instanceof SiteError ? ` (${err.cause.code}; fix: ${err.cause.hint})` : '';
          out(`failed  ${site.url}  ${err.message}${cause}`);
        }
      }
    } finally {
      await client.close();
    }
    out(`\nROTATE RECAP: ok=${sites.length - failed} failed=${failed}`);
    return failed > 0 ? EXIT.someFailed : EXIT.ok;
  } finally {
    await state.close();
  }
}
