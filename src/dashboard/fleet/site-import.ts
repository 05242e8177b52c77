import { InventoryError, parseInventory } from '../../engine/inventory.js';
import { isLoopbackHost } from '../../engine/transport.js';
import { checkTags } from '../../store/fleet-records.js';
import { SiteExistsError, type FleetSite, type FleetStore } from '../../store/fleet-store.js';
import { DashboardError } from '../errors.js';

export interface ImportResult {
  added: FleetSite[];
  /** Entries not added, each with why (already in the fleet, plain http, …). */
  skipped: Array<{ url: string; reason: string }>;
  warnings: string[];
}

/**
 * Imports the seed's sites file or the YAML inventory into the fleet, with the CLI's own parser
 * (same normalisation, same refusals: a file with a bad entry imports nothing). A YAML entry's
 * `api_key_env` is looked up in the dashboard's environment now and its value sealed as the
 * site's own key; sites already in the fleet (same URL or name) are skipped, not changed.
 */
export async function importSites(
  fleet: FleetStore,
  input: { format: 'seed' | 'yaml'; content: string; tags?: string[] },
  opts: { actor: string; allowHttp: boolean; env: NodeJS.ProcessEnv },
): Promise<ImportResult> {
  const extraTags = checkTags(input.tags ?? []);
  let inventory;
  try {
    inventory = await parseInventory(input.content, input.format === 'yaml' ? 'sites.yml' : 'sites.txt', {
      yaml: input.format === 'yaml',
    });
  } catch (err) {
    if (err instanceof InventoryError)
      throw new DashboardError('invalid_request', `${err.message} (${err.hint ?? ''})`);
    throw err;
  }
  const result: ImportResult = { added: [], skipped: [], warnings: [...inventory.warnings] };
  for (const site of inventory.sites) {
    if (site.url.startsWith('http://') && !opts.allowHttp && !isLoopbackHost(new URL(site.url).hostname)) {
      result.skipped.push({
        url: site.url,
        reason: 'plain http:// to a non-loopback host (KEYFLEET_ALLOW_HTTP is off)',
      });
      continue;
    }
    let apiKey: string | null = null;
    if (site.apiKeyEnv) {
      apiKey = opts.env[site.apiKeyEnv] || null;
      if (apiKey === null)
        result.warnings.push(
          `${site.url}: ${site.apiKeyEnv} is not set in the dashboard's environment; the site uses TEMPLATE_MASTER_API_KEY`,
        );
    }
    try {
      const tags = [...site.tags, ...extraTags.filter((t) => !site.tags.includes(t))];
      result.added.push(
        await fleet.addSite({
          url: site.url,
          name: site.name,
          tags,
          apiKey,
          source: 'import',
          addedBy: opts.actor,
        }),
      );
    } catch (err) {
      if (!(err instanceof SiteExistsError || err instanceof RangeError)) throw err;
      result.skipped.push({ url: site.url, reason: err.message });
    }
  }
  return result;
}
