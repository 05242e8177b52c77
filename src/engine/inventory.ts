import { readFile } from 'node:fs/promises';
import { CliError } from '../protocol/cli-error.js';
import { EXIT } from '../protocol/error-catalog.js';
import type { ParsedEntries, RawEntry } from './inventory-yaml.js';
import { normaliseSiteUrl } from './site-url.js';
import type { ProtocolChoice } from './protocol-choice.js';

export { isLoopbackHost, normaliseSiteUrl } from './site-url.js';

/**
 * Where the fleet comes from: `--sites-file`, in the seed format (one URL per line, `#` comments,
 * blank lines; CRLF and a BOM tolerated) or, for `.yml`/`.yaml`, the YAML inventory of
 * inventory-yaml.ts. URLs are normalised by site-url.ts; duplicates keep the first occurrence and
 * are reported in `warnings`. Any bad entry stops the load — nothing is sent to a fleet described by
 * a file with mistakes in it — with an `InventoryError` (exit 2) naming each file:line and the fix.
 *
 * @example
 *   const { sites, warnings } = await loadInventory('sites.yml', { tag: 'production', limit: 10 });
 *   // sites[0] = { url: 'https://shop.example.fr', name: 'shop', tags: ['production'], apiKeyEnv: null }
 */
export interface Site {
  /** Normalised base URL: `https://host[:port][/base]`, no trailing slash. */
  url: string;
  /** From the YAML `name`, else the URL without its scheme. */
  name: string;
  tags: string[];
  /** Environment variable holding this site's API key; null means TEMPLATE_MASTER_API_KEY. */
  apiKeyEnv: string | null;
  /** YAML `protocol` (issue 9): forces how the site is spoken to; absent = detected (auto). */
  protocol?: ProtocolChoice;
}

export interface Inventory {
  /** In file order, after `tag` and `limit`. */
  sites: Site[];
  /** One line each, e.g. `sites.txt:7: duplicate of sites.txt:3 (https://shop.example.fr); skipped`. */
  warnings: string[];
}

export interface InventoryOptions {
  /** Only sites carrying this tag (YAML inventory). */
  tag?: string | undefined;
  /** The first N sites after filtering; a positive integer (commander's string form is accepted). */
  limit?: number | string | undefined;
}

/** A sites file that cannot be used as written. Exits 2 (nothing was sent), like any usage error. */
export class InventoryError extends CliError {
  readonly code = 'invalid_inventory';
  constructor(
    message: string,
    hint: string,
    readonly file: string,
    /** Every `file:line: …` problem found, not only the ones in `message`. */
    readonly problems: readonly string[] = [],
  ) {
    super(message, EXIT.usage, hint);
  }
}

const SHOWN_PROBLEMS = 10;

export async function loadInventory(path: string, opts: InventoryOptions = {}): Promise<Inventory> {
  parseLimit(opts.limit); // a bad --limit is refused before the file is read
  if (opts.tag !== undefined && opts.tag.trim() === '') {
    throw new InventoryError(
      '--tag is empty',
      'Give a tag used in the YAML inventory, e.g. --tag production.',
      path,
    );
  }
  if (!path)
    throw new InventoryError('no sites file given', 'Pass --sites-file sites.txt (one URL per line).', '');
  const yaml = /\.ya?ml$/i.test(path);
  return parseInventory(await readText(path), path, { ...opts, yaml });
}

/**
 * The same rules on text already in memory (the dashboard's import): `source` names it in messages,
 * `yaml` picks the format. Throws InventoryError like loadInventory.
 */
export async function parseInventory(
  raw: string,
  source: string,
  opts: InventoryOptions & { yaml: boolean },
): Promise<Inventory> {
  const path = source;
  const yaml = opts.yaml;
  const limit = parseLimit(opts.limit);
  const text = raw.replace(/^\uFEFF/, '');
  // The YAML parser is loaded only for YAML files: most fleets are plain lists, and it costs ~50 ms.
  const parsed = yaml
    ? (await import('./inventory-yaml.js')).parseYamlInventory(text, path)
    : parseSeedLines(text, path);
  const hint = yaml
    ? 'Each entry is a URL or a mapping: - url: https://shop.example.fr (tags, name, api_key_env optional).'
    : 'Each line is one site base URL, e.g. https://shop.example.fr; "#" starts a comment.';

  const errors = [...parsed.errors];
  const warnings: string[] = [];
  const seen = new Map<string, string>();
  let sites: Site[] = [];
  for (const entry of parsed.entries) {
    const site = toSite(entry, errors);
    if (!site) continue;
    const first = seen.get(site.url);
    if (first !== undefined) {
      warnings.push(`${entry.where}: duplicate of ${first} (${site.url}); skipped`);
      continue;
    }
    seen.set(site.url, entry.where);
    sites.push(site);
  }
  if (errors.length === 1) throw new InventoryError(errors[0] ?? '', hint, path, errors);
  if (errors.length > 1) {
    const more = errors.length > SHOWN_PROBLEMS ? `\n  … and ${errors.length - SHOWN_PROBLEMS} more` : '';
    const list = errors.slice(0, SHOWN_PROBLEMS).join('\n  ');
    throw new InventoryError(
      `${path}: ${errors.length} invalid entries:\n  ${list}${more}`,
      hint,
      path,
      errors,
    );
  }
  if (sites.length === 0) {
    throw new InventoryError(`${path}: no sites in this file (it is empty or only has comments)`, hint, path);
  }

  if (opts.tag !== undefined) sites = filterByTag(sites, opts.tag, path, yaml);
  return { sites: limit === undefined ? sites : sites.slice(0, limit), warnings };
}

function parseLimit(limit: number | string | undefined): number | undefined {
  if (limit === undefined) return undefined;
  const n = typeof limit === 'number' ? limit : /^\s*\d+\s*$/.test(limit) ? Number(limit) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InventoryError(
      `--limit must be a positive integer, got '${String(limit)}'`,
      'e.g. --limit 5',
      '',
    );
  }
  return n;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new InventoryError(`sites file ${path} ${whyUnreadable(err)}`, 'Check the path given to --sites-file.', path);
  }
}

/** Why a file could not be read, as the end of a sentence: "not found", "is a directory", … */
export function whyUnreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'not found';
  if (code === 'EISDIR') return 'is a directory';
  return `cannot be read (${code ?? 'error'})`;
}

/** The seed format. A plain loop over one split: 50,000 lines load in a few tens of milliseconds. */
function parseSeedLines(text: string, file: string): ParsedEntries {
  const entries: RawEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? '').trim(); // trim also drops the \r of CRLF
    if (line === '' || line.startsWith('#')) continue;
    const comment = line.search(/\s#/); // "url # note"; a '#' glued to the URL is a fragment, refused later
    if (comment !== -1) line = line.slice(0, comment).trim();
    entries.push({ url: line, name: null, tags: [], apiKeyEnv: null, where: `${file}:${i + 1}` });
  }
  return { entries, errors: [] };
}

function toSite(entry: RawEntry, errors: string[]): Site | null {
  const result = normaliseSiteUrl(entry.url);
  if (!result.ok) {
    errors.push(`${entry.where}: URL ${result.reason}`);
    return null;
  }
  const name = entry.name ?? result.url.replace(/^https?:\/\//, '');
  return { url: result.url, name, tags: entry.tags, apiKeyEnv: entry.apiKeyEnv, ...(entry.protocol ? { protocol: entry.protocol } : {}) };
}

function filterByTag(sites: Site[], tag: string, file: string, yaml: boolean): Site[] {
  if (!yaml) {
    throw new InventoryError(
      `--tag ${tag}: ${file} is a plain list of URLs, which has no tags`,
      'Tags live in a YAML inventory (sites.yml): - url: https://…  tags: [production].',
      file,
    );
  }
  const kept = sites.filter((s) => s.tags.includes(tag));
  if (kept.length === 0) {
    const known = [...new Set(sites.flatMap((s) => s.tags))].sort();
    throw new InventoryError(
      `no site in ${file} has tag '${tag}'`,
      known.length > 0
        ? `Tags in this file: ${known.join(', ')}.`
        : 'No entry in this file has tags: add tags: [...] to entries.',
      file,
    );
  }
  return kept;
}
