import { InventoryError, parseInventory } from '../../engine/inventory.js';
import { isLoopbackHost } from '../../engine/transport.js';
import { checkSiteKeyEnv, siteKeyEnvPrefix } from '../../keys/site-key-env.js';
import { checkTags } from '../../store/fleet-records.js';
import type { FleetSite, FleetStore, NewFleetSite } from '../../store/fleet-store.js';
import { DashboardError } from '../errors.js';
import { siteByAlias, urlAliases } from './site-aliases.js';
import { defaultSiteName } from './site-views.js';

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
 * site's own key; sites already in the fleet (same URL or name) are skipped, not changed. `via`
 * words the messages for who imports: the dashboard (its environment, KEYFLEET_ALLOW_HTTP) or
 * `keyfleet sites import` (the shell's environment, --allow-http).
 */
export async function importSites(
  fleet: FleetStore,
  input: {
    format: 'seed' | 'yaml';
    content: string;
    tags?: string[];
    /** The file's name in messages (default sites.txt / sites.yml). */
    source?: string;
  },
  opts: { actor: string; allowHttp: boolean; env: NodeJS.ProcessEnv; via?: 'dashboard' | 'cli' },
): Promise<ImportResult> {
  const cli = opts.via === 'cli';
  const extraTags = checkTags(input.tags ?? []);
  let inventory;
  try {
    const source = input.source ?? (input.format === 'yaml' ? 'sites.yml' : 'sites.txt');
    inventory = await parseInventory(input.content, source, { yaml: input.format === 'yaml' });
  } catch (err) {
    if (err instanceof InventoryError)
      throw new DashboardError('invalid_request', `${err.message} (${err.hint ?? ''})`);
    throw err;
  }
  // Dashboard imports: api_key_env names only site-key variables, or nothing is imported (issue 12).
  // `keyfleet sites import` keeps the shell's own rules for now (the CLI inventory's).
  if (!cli) {
    let prefix: string;
    try {
      prefix = siteKeyEnvPrefix(opts.env);
    } catch (err) {
      throw new DashboardError('api_key_env_refused', (err as Error).message);
    }
    for (const site of inventory.sites) {
      const why = site.apiKeyEnv ? checkSiteKeyEnv(site.apiKeyEnv, prefix) : null;
      if (why) throw new DashboardError('api_key_env_refused', `${site.url}: ${why}. Nothing was imported.`);
    }
  }
  const result: ImportResult = { added: [], skipped: [], warnings: [...inventory.warnings] };
  // Every site that may be added goes to the store in one batch (one transaction, not one per site).
  const candidates: NewFleetSite[] = [];
  const outcome: Array<{ url: string; reason: string } | number> = [];
  for (const site of inventory.sites) {
    if (site.url.startsWith('http://') && !opts.allowHttp && !isLoopbackHost(new URL(site.url).hostname)) {
      outcome.push({
        url: site.url,
        reason: `plain http:// to a non-loopback host (${cli ? 'pass --allow-http to accept it' : 'KEYFLEET_ALLOW_HTTP is off'})`,
      });
      continue;
    }
    let apiKey: string | null = null;
    if (site.apiKeyEnv) {
      apiKey = opts.env[site.apiKeyEnv] || null;
      if (apiKey === null)
        result.warnings.push(
          `${site.url}: ${site.apiKeyEnv} is not set in ${cli ? 'this' : "the dashboard's"} environment; the site uses TEMPLATE_MASTER_API_KEY`,
        );
    }
    // Only a loopback URL has aliases (site-aliases.ts); every other URL is checked by the batch insert.
    if (urlAliases(site.url).length > 1) {
      const alias = await siteByAlias(fleet, site.url);
      if (alias && alias.url !== site.url) {
        outcome.push({ url: site.url, reason: `the same site as ${alias.url}, already in the fleet` });
        continue;
      }
    }
    const tags = [...site.tags, ...extraTags.filter((t) => !site.tags.includes(t))];
    // The inventory's default name keeps a base path's `/`, which a registry name cannot hold.
    const name = site.name === site.url.replace(/^https?:\/\//, '') ? defaultSiteName(site.url) : site.name;
    outcome.push(candidates.length);
    candidates.push({ url: site.url, name, tags, apiKey, source: 'import', addedBy: opts.actor });
  }
  const added = await fleet.addSites(candidates);
  for (const o of outcome) {
    if (typeof o !== 'number') {
      result.skipped.push(o);
      continue;
    }
    const r = added[o];
    if (r && 'site' in r) result.added.push(r.site);
    else result.skipped.push({ url: candidates[o]?.url ?? '', reason: r?.reason ?? 'not added' });
  }
  return result;
}
