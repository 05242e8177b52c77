import { normaliseSiteUrl } from '../../engine/site-url.js';
import { isLoopbackHost } from '../../engine/transport.js';
import type { DesiredVersions, FleetSite } from '../../store/fleet-store.js';
import { DashboardError } from '../errors.js';
import { effectiveVersion, type EffectiveVersion } from './desired.js';

/** `in_sync`: last check found the desired version; `drifted`: it found something else, or an older version. */
export type Drift = 'in_sync' | 'drifted' | 'unknown';

/** A site as the JSON API shows it: the record, its effective desired version and its drift. */
export type SiteView = FleetSite & { desired: EffectiveVersion; drift: Drift };

export function driftOf(site: FleetSite, desired: EffectiveVersion): Drift {
  const h = site.health;
  if (!h || desired.version_id === null) return 'unknown';
  if (h.problem === 'drift' || h.pk_as_desired === false || h.sk_as_desired === false) return 'drifted';
  // A failed check tells nothing about the keys.
  if (h.problem !== null) return 'unknown';
  return h.version_id === desired.version_id ? 'in_sync' : 'drifted';
}

export function siteView(site: FleetSite, desired: DesiredVersions): SiteView {
  const effective = effectiveVersion(site, desired);
  return { ...site, desired: effective, drift: driftOf(site, effective) };
}

/**
 * The normalised URL, refused (400 invalid_site_url) as the CLI refuses it in a sites file.
 * `howToAllowHttp` says how this caller lets plain http:// through (`keyfleet sites add` has --allow-http).
 */
export function siteUrlOrThrow(
  raw: string,
  allowHttp: boolean,
  howToAllowHttp = 'start the dashboard with KEYFLEET_ALLOW_HTTP=true',
): string {
  const r = normaliseSiteUrl(raw);
  if (!r.ok) throw new DashboardError('invalid_site_url', `The URL ${r.reason}.`);
  if (r.url.startsWith('http://') && !allowHttp && !isLoopbackHost(new URL(r.url).hostname)) {
    throw new DashboardError(
      'invalid_site_url',
      `Plain http:// is refused except for loopback: use https:// (or ${howToAllowHttp}).`,
    );
  }
  return r.url;
}

/**
 * The name a site gets when none is given: its URL without the scheme (as the inventory does), a
 * base path's `/` written `_` (a name cannot hold `/`: it appears in URLs), so `https://a.fr/shop`
 * is `a.fr_shop` and a sites file of such URLs imports.
 */
export function defaultSiteName(url: string): string {
  return url.replace(/^https?:\/\//, '').replace(/\//g, '_');
}
