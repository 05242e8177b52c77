import type { FleetSite, FleetStore } from '../../store/fleet-store.js';
import { canonicalHost, canonicalIp } from './registration-hosts.js';

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * The URLs one site may be known under: itself, and for a loopback host the same scheme, port and
 * path on every loopback name, so `http://localhost:5000` re-registers the site stored as
 * `http://127.0.0.1:5000` instead of adding a second one. `url` is normalised already (site-url.ts).
 */
export function urlAliases(url: string): string[] {
  const u = new URL(url);
  const h = canonicalIp(canonicalHost(u.hostname));
  if (!(h === 'localhost' || h === '::1' || h.startsWith('127.'))) return [url];
  const rest = `${u.port === '' ? '' : `:${u.port}`}${u.pathname === '/' ? '' : u.pathname}`;
  return [url, ...LOOPBACK_NAMES.map((n) => `${u.protocol}//${n}${rest}`).filter((a) => a !== url)];
}

/** The site stored under `url` or one of its aliases (urlAliases), if any. */
export async function siteByAlias(fleet: FleetStore, url: string): Promise<FleetSite | undefined> {
  for (const alias of urlAliases(url)) {
    const site = await fleet.getSite(alias);
    if (site && site.url === alias) return site;
  }
  return undefined;
}
