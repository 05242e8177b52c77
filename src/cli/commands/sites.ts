import { readFile } from 'node:fs/promises';
import { importSites } from '../../dashboard/fleet/site-import.js';
import {
  defaultSiteName,
  siteUrlOrThrow,
  siteView,
  type SiteView,
} from '../../dashboard/fleet/site-views.js';
import { whyUnreadable } from '../../engine/inventory.js';
import { normaliseSiteUrl } from '../../engine/site-url.js';
import { EXIT } from '../../protocol/error-catalog.js';
import { fingerprint } from '../../protocol/fingerprint.js';
import { siteByAlias } from '../../dashboard/fleet/site-aliases.js';
import { checkSiteName } from '../../store/fleet-records.js';
import { SiteExistsError } from '../../store/fleet-store.js';
import type { StateStore } from '../../store/state-store.js';
import { catalogError } from '../../protocol/cli-error.js';
import { printable, sitesTable } from '../sites-format.js';
import {
  apiKeyFromEnv,
  checkVaultKey,
  LIST_HINT,
  openRegistry,
  out,
  refusal,
  tagsOf,
  warn,
  who,
} from '../sites-registry.js';

/**
 * `keyfleet sites add|rm|ls|import`: the dashboard's own registry of sites, from the command line. It
 * opens the dashboard's state database the way the dashboard does (KEYFLEET_DB, else a postgres://
 * DATABASE_URL, else the default file), checks URLs with the dashboard's rules, seals a site's own
 * API key with the dashboard's vault key, and writes the same audit log (actor `cli:<os user>`).
 * A site's API key is read from the environment variable named by --api-key-env, never from argv,
 * and is never printed: `ls` says `yes`/`no`.
 *
 * @example SHOP_KEY=… keyfleet sites add https://shop.example.fr --name shop --tag eu --api-key-env SHOP_KEY
 */
export interface SitesOptions {
  name?: string;
  /** Repeatable; each may hold several, comma-separated. */
  tag?: string[];
  apiKeyEnv?: string;
  allowHttp?: boolean;
  json?: boolean;
  format?: string;
  /** The positional argument (URL, site reference or file), from main.ts. */
  _args?: unknown[];
}

const ALLOW_HTTP = 'pass --allow-http';
const argument = (opts: SitesOptions): string => String(opts._args?.[0] ?? '');

/** `keyfleet sites add <url> [--name] [--tag t …] [--api-key-env VAR] [--allow-http]` */
export async function sitesAdd(opts: SitesOptions): Promise<number> {
  let url: string;
  let name: string;
  try {
    url = siteUrlOrThrow(argument(opts), opts.allowHttp === true, ALLOW_HTTP);
    name = opts.name?.trim() || defaultSiteName(url);
    checkSiteName(name);
  } catch (err) {
    return refusal(err);
  }
  const tags = tagsOf(opts.tag);
  const apiKey = opts.apiKeyEnv === undefined ? null : apiKeyFromEnv(opts.apiKeyEnv);
  const state = (await openRegistry(true)) as StateStore;
  try {
    const site = await (async () => {
      if (apiKey !== null) await checkVaultKey(state);
      const alias = await siteByAlias(state.fleet, url);
      if (alias) throw new SiteExistsError('url', `${url}, registered as ${alias.url}`);
      return state.fleet.addSite({ url, name, tags, apiKey, source: 'admin', addedBy: who() });
    })().catch(refusal);
    await state.fleet.audit({
      actor: who(),
      action: 'site.add',
      target: site.id,
      detail: {
        url,
        name: site.name,
        tags: site.tags,
        ...(apiKey === null ? {} : { api_key_fingerprint: fingerprint(apiKey), api_key_env: opts.apiKeyEnv }),
        via: 'cli',
      },
    });
    out(
      `added ${site.id}  ${printable(site.name)}  ${site.url}  own API key: ${site.has_api_key ? 'yes' : 'no'}\n`,
    );
    return EXIT.ok;
  } finally {
    await state.close();
  }
}

/** `keyfleet sites rm <id|name|url>` */
export async function sitesRemove(opts: SitesOptions): Promise<number> {
  const ref = argument(opts);
  const state = await openRegistry(false);
  try {
    let site = await state?.fleet.getSite(ref);
    const normal = normaliseSiteUrl(ref);
    if (!site && normal.ok) site = await state?.fleet.getSite(normal.url);
    if (!state || !site) {
      throw catalogError(
        'site_not_found',
        `No registered site "${printable(ref)}" (by id, name or URL).`,
        LIST_HINT,
      );
    }
    await state.fleet.removeSite(site.id);
    await state.fleet.audit({
      actor: who(),
      action: 'site.remove',
      target: site.id,
      detail: { url: site.url, name: site.name, via: 'cli' },
    });
    out(`removed ${site.id}  ${printable(site.name)}  ${site.url}\n`);
    return EXIT.ok;
  } finally {
    await state?.close();
  }
}

/** `keyfleet sites ls [--tag t …] [--json]` */
export async function sitesList(opts: SitesOptions): Promise<number> {
  const tags = tagsOf(opts.tag);
  const state = await openRegistry(false);
  let views: SiteView[] = [];
  if (state) {
    try {
      const desired = await state.fleet.desired();
      views = (await state.fleet.listSites(tags.length ? { tags } : undefined)).map((s) =>
        siteView(s, desired),
      );
    } finally {
      await state.close();
    }
  }
  if (opts.json) out(`${JSON.stringify(views)}\n`);
  else if (views.length > 0) out(sitesTable(views));
  else if (tags.length > 0) out(`No registered site has the tag ${tags.join(' or ')}.\n`);
  else out('No sites registered yet: keyfleet sites add <url>, or keyfleet sites import <sites file>.\n');
  return EXIT.ok;
}

/** `keyfleet sites import <file> [--format seed|yaml] [--tag t …] [--allow-http]` */
export async function sitesImport(opts: SitesOptions): Promise<number> {
  const file = argument(opts);
  if (opts.format !== undefined && opts.format !== 'seed' && opts.format !== 'yaml') {
    throw catalogError(
      'invalid_request',
      `--format is seed or yaml (got "${printable(opts.format)}").`,
      'seed: one URL per line, # comments; yaml: the YAML inventory (sites: - url: …).',
    );
  }
  const format = (opts.format as 'seed' | 'yaml' | undefined) ?? (/\.ya?ml$/i.test(file) ? 'yaml' : 'seed');
  const tags = tagsOf(opts.tag);
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    throw catalogError(
      'invalid_request',
      `sites file ${printable(file)} ${whyUnreadable(err)}.`,
      'Give the path of the seed sites file (one URL per line) or of the YAML inventory.',
    );
  }
  const state = (await openRegistry(true)) as StateStore;
  try {
    const result = await (async () => {
      await checkVaultKey(state);
      return importSites(
        state.fleet,
        { format, content, tags, source: file },
        { actor: who(), allowHttp: opts.allowHttp === true, env: process.env, via: 'cli' },
      );
    })().catch(refusal);
    await state.fleet.audit({
      actor: who(),
      action: 'site.import',
      target: null,
      detail: {
        format,
        added: result.added.length,
        skipped: result.skipped.length,
        sites: result.added.slice(0, 100).map((s) => s.id),
        via: 'cli',
      },
    });
    for (const w of result.warnings) warn(w);
    const lines = [
      ...result.added.map(
        (s) =>
          `added    ${s.id}  ${printable(s.name)}  ${s.url}  own API key: ${s.has_api_key ? 'yes' : 'no'}`,
      ),
      ...result.skipped.map((s) => `skipped  ${s.url}  (${printable(s.reason)})`),
      `IMPORT RECAP: added=${result.added.length} skipped=${result.skipped.length}`,
    ];
    out(`${lines.join('\n')}\n`);
    return EXIT.ok;
  } finally {
    await state.close();
  }
}
