import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { fail, pass, type DoctorContext, type SiteRun, type StepOutcome } from './check.js';
import { bareHost } from './socket-address.js';
import { proxyOrigin } from './proxy-route.js';

/**
 * Check 2, DNS: the guide's `dig` / `nslookup`. It resolves the way the transport will (the system
 * resolver, so /etc/hosts counts), listing A and AAAA answers, and tells a name that does not exist
 * (NXDOMAIN, or no address records: `dns_not_found`) from a resolver that did not answer
 * (`dns_resolver_failed`: the name may be fine). Through a proxy, the name that matters here is the
 * proxy's: the proxy resolves the site's. The lookup holds a slot of the in-flight limit and gives
 * up after `--timeout` (getaddrinfo itself cannot be cancelled; its answer is then ignored).
 *
 * @example await checkDns(site, ctx) // { status: 'pass', detail: 'shop.example.fr → 192.0.2.10 (A)' }
 */
const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

export async function checkDns(site: SiteRun, ctx: DoctorContext): Promise<StepOutcome> {
  const url = site.url as URL;
  const proxy = site.route?.proxy ?? null;
  const host = bareHost((proxy ?? url).hostname);
  const via = proxy === null ? '' : ` (proxy ${proxyOrigin(proxy)}; the proxy resolves ${url.hostname})`;

  if (isIP(host) !== 0) {
    site.addresses = [host];
    return pass(`${host} is an IP address, nothing to resolve${via}`);
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ctx.timeoutMs);
  });
  try {
    const answer = await ctx.http.limit.run(() =>
      Promise.race([lookup(host, { all: true, verbatim: true }), timedOut]),
    );
    if (answer === 'timeout') {
      return fail('dns_resolver_failed', `no answer for ${host} within ${ctx.timeoutMs} ms${via}`);
    }
    if (answer.length === 0) return fail('dns_not_found', `${host} has no A or AAAA record${via}`);
    site.addresses = answer.map((a) => a.address);
    const shown = answer.slice(0, 4).map((a) => `${a.address} (${a.family === 6 ? 'AAAA' : 'A'})`);
    const more = answer.length > 4 ? ` and ${answer.length - 4} more` : '';
    return pass(`${host} → ${shown.join(', ')}${more}${via}`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (NOT_FOUND.has(code))
      return fail('dns_not_found', `${host} does not resolve (${code}: NXDOMAIN or no address record)${via}`);
    return fail('dns_resolver_failed', `the resolver failed for ${host} (${code})${via}`);
  } finally {
    clearTimeout(timer);
  }
}
