import { isLoopbackHost, normaliseSiteUrl } from '../engine/site-url.js';
import { resolveSite } from '../engine/transport.js';
import { fail, pass, warn, type DoctorContext, type SiteRun, type StepOutcome } from './check.js';
import { proxyRouteFor } from './proxy-route.js';

/**
 * Check 1, URL sanity: the guide's "Verify the URL is correct". The URL goes through the same
 * normalisation as a sites file (site-url.ts: a scheme is required, no `/api` suffix, no query, no
 * credentials), then the plain-http rule of the transport: http:// is for loopback only, unless
 * `--allow-http` (still a warning: keys would travel in clear text). Also decides, once, whether
 * requests to this site go through a proxy. A scheme on the other scheme's port (`https://host:80`)
 * is refused too: it can only end in a TLS error that hides the real mistake.
 *
 * @example checkUrl(newSiteRun('https://shop.example.fr/api', null, 'TEMPLATE_MASTER_API_KEY'), ctx)
 *   // { status: 'fail', code: 'invalid_url', detail: 'the URL points at the site's API … remove the /api suffix …' }
 */
const OTHER_SCHEME_PORT: Readonly<Record<string, string>> = { 'https:': '80', 'http:': '443' };

export function checkUrl(site: SiteRun, ctx: DoctorContext): StepOutcome {
  const normalised = normaliseSiteUrl(site.input);
  if (!normalised.ok) return fail('invalid_url', `the URL ${normalised.reason}`);
  const url = new URL(normalised.url);
  site.url = url;
  site.route = proxyRouteFor(url, ctx.env);
  const base = url.pathname === '/' ? 'base URL' : `base path ${url.pathname}`;
  if (url.port === OTHER_SCHEME_PORT[url.protocol]) {
    const other = url.protocol === 'https:' ? 'http' : 'https';
    return fail(
      'invalid_url',
      `${url.protocol}// on port ${url.port}, the ${other} port: write ${other}://${url.hostname} or drop the port`,
    );
  }
  const changed =
    normalised.url === site.input.trim().replace(/\/+$/, '') ? '' : ` (read as ${normalised.url})`;

  if (url.protocol === 'http:') {
    const loopback = isLoopbackHost(url.hostname);
    if (!loopback && !ctx.allowHttp) {
      return fail(
        'insecure_url',
        `plain http:// to ${url.hostname}: keys would travel in clear text${changed}`,
      );
    }
    // resolveSite cannot refuse from here on: loopback, or --allow-http.
    site.target = resolveSite(normalised.url, true);
    if (!loopback) {
      return warn(
        'insecure_url',
        `plain http:// to ${url.hostname}, allowed by --allow-http: keys travel in clear text${changed}`,
      );
    }
    return pass(`http:// to loopback (no TLS), ${base}${changed}`);
  }
  site.target = resolveSite(normalised.url, false);
  return pass(`https, ${base}${changed}`);
}
