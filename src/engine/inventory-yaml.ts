import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { isProtocolChoice, PROTOCOL_CHOICES, type ProtocolChoice } from './protocol-choice.js';

/**
 * The YAML inventory: the seed format plus tags and a per-site API key variable.
 *
 *   sites:
 *     - url: https://shop.example.fr
 *       name: shop
 *       tags: [production, eu]
 *       api_key_env: SHOP_API_KEY      # the variable holding this site's key, never the key itself
 *     - https://blog.example.fr        # a bare URL is an entry too
 *
 * A top-level list (without `sites:`) is accepted as well. Unknown fields are refused rather than
 * ignored: a typo like `tag:` would otherwise silently push to the wrong set of sites, and a field like
 * `api_key:` means a key was written into a file that gets shared.
 */
export interface RawEntry {
  /** As written; normalised by the caller. */
  readonly url: string;
  readonly name: string | null;
  readonly tags: string[];
  readonly apiKeyEnv: string | null;
  /** `protocol: seed|keyfleet|auto` (issue 9); absent = auto. */
  readonly protocol?: ProtocolChoice;
  /** `sites.yml:12: entry 3`, the prefix of every message about this entry. */
  readonly where: string;
}

export interface ParsedEntries {
  entries: RawEntry[];
  errors: string[];
}

const FIELDS = ['url', 'name', 'tags', 'api_key_env', 'protocol'];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseYamlInventory(text: string, file: string): ParsedEntries {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const line = syntax.linePos?.[0].line;
    // First line only: the pretty form quotes the file's text, which is not ours to echo.
    const what = syntax.message.split('\n')[0] ?? 'syntax error';
    return { entries: [], errors: [`${file}${line ? `:${line}` : ''}: YAML syntax error: ${what}`] };
  }
  const root = doc.contents;
  let list: Node | null | undefined = root;
  if (isMap(root)) {
    const extra = root.items
      .map((p) => (isScalar(p.key) ? String(p.key.value) : '?'))
      .filter((k) => k !== 'sites');
    if (extra.length > 0) {
      return {
        entries: [],
        errors: [`${file}: unknown top-level key '${extra[0]}': the file holds a 'sites:' list only`],
      };
    }
    list = root.get('sites', true) as Node | undefined;
  }
  if (root === null || root === undefined || (isScalar(list) && list.value === null)) {
    return { entries: [], errors: [] }; // empty document or `sites:` with nothing: the caller says "empty"
  }
  if (!isSeq(list)) {
    return {
      entries: [],
      errors: [`${file}: expected a list of sites ('sites:' followed by '- url: https://…')`],
    };
  }

  // Values from the whole document, so aliases resolve; positions from the AST, for line numbers.
  const js = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const values = (isMap(root) ? (js as { sites: unknown[] }).sites : js) as unknown[];
  const entries: RawEntry[] = [];
  const errors: string[] = [];
  list.items.forEach((item, index) => {
    const node = item as Node;
    const line = node.range ? lineCounter.linePos(node.range[0]).line : 0;
    const where = `${file}:${line}: entry ${index + 1}`;
    const result = readEntry(values[index], where);
    if (typeof result === 'string') errors.push(`${where}: ${result}`);
    else entries.push(result);
  });
  return { entries, errors };
}

/** One entry, or the reason it is refused (never quoting a value that may be a key). */
function readEntry(value: unknown, where: string): RawEntry | string {
  if (typeof value === 'string') return { url: value, name: null, tags: [], apiKeyEnv: null, where };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'expected a URL or a mapping with url: https://…';
  }
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (FIELDS.includes(key)) continue;
    if (/key|secret|token|password/i.test(key)) {
      return `field '${key}' looks like a credential: keep keys out of the inventory, set an environment variable and name it with api_key_env`;
    }
    return `unknown field '${key}' (allowed: ${FIELDS.join(', ')})`;
  }
  const { url, name, tags, api_key_env: apiKeyEnv, protocol } = fields;
  if (protocol !== undefined && protocol !== null && !isProtocolChoice(protocol)) {
    return `protocol must be one of ${PROTOCOL_CHOICES.join(', ')} (seed: the original template; keyfleet: this package's template)`;
  }
  if (typeof url !== 'string' || url.trim() === '') return 'has no url: add url: https://…';
  if (name !== undefined && name !== null && (typeof name !== 'string' || name.trim() === '')) {
    return 'name must be a non-empty string';
  }
  const tagList = tags === undefined || tags === null ? [] : typeof tags === 'string' ? [tags] : tags;
  if (
    !Array.isArray(tagList) ||
    tagList.some((t) => (typeof t !== 'string' && typeof t !== 'number') || String(t).trim() === '')
  ) {
    return 'tags must be a list of words, e.g. tags: [production, eu]';
  }
  if (
    apiKeyEnv !== undefined &&
    apiKeyEnv !== null &&
    (typeof apiKeyEnv !== 'string' || !ENV_NAME.test(apiKeyEnv))
  ) {
    return 'api_key_env must name an environment variable (e.g. SHOP_API_KEY), not hold the key itself';
  }
  return {
    url,
    name: typeof name === 'string' ? name.trim() : null,
    tags: tagList.map((t) => String(t).trim()),
    apiKeyEnv: typeof apiKeyEnv === 'string' ? apiKeyEnv : null,
    ...(isProtocolChoice(protocol) ? { protocol } : {}),
    where,
  };
}
