import { proxyFromEnv } from '../engine/dispatcher.js';
import { portOf } from './socket-address.js';

/**
 * Whether a request to one site goes through a proxy, decided the way the transport decides it:
 * the proxy values come from `proxyFromEnv` (the transport's own reading of HTTP_PROXY / HTTPS_PROXY,
 * lower case first, https falling back to HTTP_PROXY), and NO_PROXY is matched with the rules of
 * undici's EnvHttpProxyAgent, which the transport hands the value to: entries split on commas and
 * spaces, an optional `:port`, a leading `.` or `*.` ignored, a match on the host or any subdomain,
 * and `*` alone meaning "never proxy". The doctor's DNS, TCP and TLS checks then test the path that
 * requests really take.
 *
 * @example proxyRouteFor(new URL('https://shop.example.fr'), { HTTPS_PROXY: 'http://10.0.0.1:3128' })
 *   // { proxy: URL(http://10.0.0.1:3128), variable: 'HTTPS_PROXY', bypassed: false }
 */
export interface ProxyRoute {
  /** The proxy requests to this site go through, or null when they go direct. */
  proxy: URL | null;
  /** The variable `proxy` comes from (for the report and the curl command). */
  variable: string | null;
  /** Proxy variables are set, but NO_PROXY exempts this site. */
  bypassed: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

const HTTP_VARS = ['http_proxy', 'HTTP_PROXY'];
const HTTPS_VARS = ['https_proxy', 'HTTPS_PROXY', ...HTTP_VARS];
const DIRECT: ProxyRoute = { proxy: null, variable: null, bypassed: false };

export function proxyRouteFor(url: URL, env: Env): ProxyRoute {
  const settings = proxyFromEnv(env);
  if (settings === null) return DIRECT;
  const https = url.protocol === 'https:';
  const value = https ? settings.httpsProxy : settings.httpProxy;
  if (value === '') return DIRECT;
  if (noProxyMatches(settings.noProxy, url.hostname.toLowerCase(), portOf(url))) {
    return { proxy: null, variable: null, bypassed: true };
  }
  const variable = (https ? HTTPS_VARS : HTTP_VARS).find((name) => env[name]) ?? null;
  return { proxy: parseProxy(value), variable, bypassed: false };
}

/** A bare `host:port` (what operators often write) is read as http://host:port. */
function parseProxy(value: string): URL {
  const url = URL.canParse(value) ? new URL(value) : null;
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:')
    ? url
    : new URL(`http://${value}`);
}

/** `hostname` as WHATWG URL gives it (lower case, IPv6 in brackets). */
export function noProxyMatches(noProxy: string, hostname: string, port: number): boolean {
  if (noProxy.trim() === '') return false;
  if (noProxy === '*') return true;
  for (const raw of noProxy.split(/[,\s]/)) {
    if (raw === '') continue;
    const withPort = /^(.+):(\d+)$/.exec(raw);
    const host = (withPort?.[1] ?? raw).replace(/^\*?\./, '').toLowerCase();
    const entryPort = withPort?.[2] === undefined ? 0 : Number(withPort[2]);
    if (entryPort !== 0 && entryPort !== port) continue;
    if (hostname === host || hostname.endsWith(`.${host}`)) return true;
  }
  return false;
}

/** The proxy without credentials: `http://proxy.example:3128`. */
export function proxyOrigin(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

/** One line for the report: which way requests to this site go. */
export function describeRoute(route: ProxyRoute, env: Env): string {
  if (route.proxy !== null)
    return `proxy ${proxyOrigin(route.proxy)} (${route.variable ?? 'proxy variable'})`;
  if (route.bypassed) return 'direct (proxy variables set, NO_PROXY exempts this site)';
  return proxyFromEnv(env) === null ? 'direct (no proxy variables)' : 'direct (no proxy for this scheme)';
}
