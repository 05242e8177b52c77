import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { AddSiteBody } from '../../dashboard/api-schemas.js';
import { DashboardError } from '../../dashboard/errors.js';
import { importSites } from '../../dashboard/fleet/site-import.js';
import { defaultSiteName, siteUrlOrThrow, siteView } from '../../dashboard/fleet/site-views.js';
import { normaliseSiteUrl } from '../../engine/site-url.js';
import { EXIT } from '../../protocol/error-catalog.js';
import { fingerprint, maskSecrets } from '../../protocol/fingerprint.js';
import { checkSiteName, checkTags } from '../../store/fleet-records.js';
import { SiteExistsError } from '../../store/fleet-store.js';
import {
  dashboardStateEnv,
  openStateStore,
  postgresStateUrl,
  stateDbPath,
} from '../../store/open-state-store.js';
import type { StateStore } from '../../store/state-store.js';
import { VaultKeyError } from '../../store/vault.js';
import { catalogError, CliError } from '../cli-error.js';
import { actor } from '../fleet-options.js';
import { printable, sitesTable } from '../sites-format.js';

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

const out = (text: string) => process.stdout.write(maskSecrets(text));
const warn = (text: string) => process.stderr.write(`keyfleet: warning: ${maskSecrets(text)}\n`);
const who = () => `cli:${actor()}`;
const ALLOW_HTTP = 'pass --allow-http';
const LIST_HINT = 'List the registered sites with: keyfleet sites ls';

/** The dashboard's state database. Without `create`, a missing SQLite file is not created (undefined). */
async function openRegistry(create: boolean): Promise<StateStore | undefined> {
  const env = dashboardStateEnv(process.env);
  if (!create && postgresStateUrl({}, env) === undefined && !existsSync(stateDbPath({}, env)))
    return undefined;
  return openStateStore({ env, log: (m) => warn(m) });
}

/** The store's and the dashboard's refusals, said for the command line (exit 2, catalog codes). */
function refusal(err: unknown): never {
  if (err instanceof DashboardError) {
    const hint =
      err.code === 'invalid_request' ? 'Fix the file and import it again: nothing was imported.' : undefined;
    throw catalogError(err.code, err.hasMessage ? err.message : undefined, hint);
  }
  if (err instanceof SiteExistsError) {
    throw catalogError(
      'site_exists',
      err.message,
      `${LIST_HINT}; remove it first (keyfleet sites rm) or choose another --name.`,
    );
  }
  if (err instanceof RangeError)
    throw catalogError('invalid_request', err.message, 'Fix it and run the command again.');
  if (err instanceof VaultKeyError) {
    throw new CliError(
      err.message,
      EXIT.usage,
      "Run with the dashboard's vault key: the same KEYFLEET_VAULT_KEY (or its vault.key next to the database).",
    );
  }
  throw err;
}

function tagsOf(opts: SitesOptions): string[] {
  const tags = (opts.tag ?? [])
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  try {
    return checkTags(tags);
  } catch (err) {
    return refusal(err);
  }
}

function argument(opts: SitesOptions): string {
  return String(opts._args?.[0] ?? '');
}

/** The value of the variable named by --api-key-env, checked like the dashboard's `api_key`; never echoed. */
function apiKeyFromEnv(variable: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
    throw catalogError(
      'invalid_request',
      `--api-key-env takes the name of an environment variable (got "${printable(variable)}").`,
      'e.g. --api-key-env SHOP_API_KEY, after: export SHOP_API_KEY=…',
    );
  }
  const value = process.env[variable];
  if (!value) {
    throw catalogError(
      'no_api_key',
      `${variable} is not set (or empty) in this environment.`,
      `export ${variable}=<the site's API key> first (it is read from the environment, never from the command line), or leave --api-key-env out: the site then uses TEMPLATE_MASTER_API_KEY.`,
    );
  }
  if (!AddSiteBody.shape.api_key.safeParse(value).success) {
    throw catalogError(
      'invalid_request',
      `${variable} does not hold a usable API key: 16 to 4096 characters, no whitespace.`,
      "Check the value for spaces or line breaks (tr -d '[:space:]'); a new key: openssl rand -base64 32.",
    );
  }
  return value;
}

/**
 * Sealing with another key than the dashboard's would leave a key nobody can open: when the vault
 * already holds a sealed value, open one first (VaultKeyError on a different key).
 */
async function checkVaultKey(state: StateStore): Promise<void> {
  const sealed = (await state.fleet.listSites()).find((s) => s.has_api_key);
  if (sealed) {
    await state.fleet.siteApiKey(sealed.id);
    return;
  }
  const version = (await state.listKeyVersions())[0];
  const [setting, key] = Object.entries(version?.keys ?? {})[0] ?? [];
  if (setting && key) await state.secretByFingerprint(setting, key.fingerprint);
}

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
  const tags = tagsOf(opts);
  const apiKey = opts.apiKeyEnv === undefined ? null : apiKeyFromEnv(opts.apiKeyEnv);
  const state = (await openRegistry(true)) as StateStore;
  try {
    const site = await (async () => {
      if (apiKey !== null) await checkVaultKey(state);
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
  const tags = tagsOf(opts);
  const state = await openRegistry(false);
  let views: ReturnType<typeof siteView>[] = [];
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
  const tags = tagsOf(opts);
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'not found'
        : code === 'EISDIR'
          ? 'is a directory'
          : `cannot be read (${code ?? 'error'})`;
    throw catalogError(
      'invalid_request',
      `sites file ${printable(file)} ${why}.`,
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
