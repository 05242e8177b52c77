/**
 * Where a socket to a URL's host goes, as node:net and node:tls want it: the port (the scheme's
 * default when the URL has none) and the host without IPv6 brackets. Used by the DNS, TCP and TLS
 * checks, the proxy tunnel and the NO_PROXY match.
 */

/** The port a URL connects to. */
export function portOf(url: URL): number {
  return Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
}

/** A host as node:net and node:tls want it: IPv6 without brackets. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}
