import { isLoopbackHost as isLoopbackUrlHost } from './transport.js';

/**
 * One site URL as written in a sites file, turned into the one form every other part compares and
 * prints: `https://host[:port][/base]`, lower-case host, no trailing slash. Anything keyfleet would
 * have to guess about is refused with the fix instead: a missing scheme (prepending https:// could
 * send keys to the wrong place), an `/api` path (the guide's common mistake — keyfleet adds
 * `/api/…` itself), a query, a fragment, or `user:pass@` (the API key never travels in a URL).
 *
 * @example normaliseSiteUrl(' HTTPS://Shop.Example.fr/ ') // { ok: true, url: 'https://shop.example.fr' }
 */
export type NormalisedUrl = { ok: true; url: string; host: string } | { ok: false; reason: string };

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const API_PATH = /(?:^|\/)api(?:\/|$)/i;

export function normaliseSiteUrl(input: string): NormalisedUrl {
  const raw = input.trim();
  if (raw === '') return { ok: false, reason: 'is empty: write a URL such as https://shop.example.fr' };
  if (/\s/.test(raw)) {
    return { ok: false, reason: 'contains a space: write one URL per line, comments after " # "' };
  }
  const scheme = SCHEME.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (/^https?:/i.test(raw)) return { ok: false, reason: 'is malformed: write https://host (two slashes)' };
    // Never echo an '@' entry: what precedes it may be a password.
    const fix = raw.includes('@') ? 'https://host, without user:pass@' : `https://${raw}`;
    return { ok: false, reason: `has no scheme: write ${fix} (keyfleet does not guess one)` };
  }
  if (scheme !== 'http' && scheme !== 'https') {
    return { ok: false, reason: `uses ${scheme}://: only https:// and http:// are supported` };
  }
  const url = parseUrl(raw);
  if (!url) return { ok: false, reason: 'is not a valid URL: check the host name and port' };
  // origin + path only in messages from here on: userinfo and queries are where credentials hide.
  const shown = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  if (url.username !== '' || url.password !== '' || /^[^/]*\/\/[^/]*@/.test(raw)) {
    return {
      ok: false,
      reason: `contains credentials (user:pass@): remove them; the API key comes from TEMPLATE_MASTER_API_KEY or api_key_env (${shown})`,
    };
  }
  if (url.search !== '' || raw.includes('?')) {
    return { ok: false, reason: `has a query string: give only the site's base URL (${shown})` };
  }
  if (url.hash !== '' || raw.includes('#')) {
    return {
      ok: false,
      reason: `has a fragment (#…): give only the site's base URL; comments need a space before #`,
    };
  }
  if (API_PATH.test(url.pathname)) {
    return {
      ok: false,
      reason: `points at the site's API (${shown}): remove the /api suffix — give the site's base URL, keyfleet adds /api/… itself`,
    };
  }
  const path = url.pathname.replace(/\/+$/, '');
  // `Shop.Example.fr.` and `shop.example.fr` are one site (issue 12): no trailing dot in the one form.
  const hostname = url.hostname.replace(/\.+$/, '');
  const host = url.port === '' ? hostname : `${hostname}:${url.port}`;
  return { ok: true, url: `${url.protocol}//${host}${path}`, host: hostname };
}

/** One parse (not canParse + parse): this runs once per line of a 50,000-line sites file. */
function parseUrl(raw: string): URL | null {
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

/**
 * True for hosts whose traffic never leaves the machine: 127.0.0.0/8, ::1 and `localhost`. Accepts a
 * bare host as typed (`::1`, `LOCALHOST`, `127.1`) as well as a URL's hostname (`[::1]`): it is put
 * through the URL parser first, then the transport's rule decides, so there is one rule.
 *
 * @example isLoopbackHost('::1') === true; isLoopbackHost('localhost.example.com') === false
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim();
  const candidate = bare.includes(':') && !bare.startsWith('[') ? `[${bare}]` : bare;
  if (candidate === '' || !URL.canParse(`http://${candidate}`)) return false;
  return isLoopbackUrlHost(new URL(`http://${candidate}`).hostname);
}
