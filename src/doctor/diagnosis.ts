import { ERROR_CATALOG, type ErrorCode } from '../protocol/error-catalog.js';
import { API_KEY_HEADER, ROUTES } from '../protocol/routes.js';
import type { CheckName, Diagnosis, DoctorContext, SiteRun, StepOutcome } from './check.js';

/**
 * From a finished ladder to one diagnosis: the first failing check names it (else the first
 * warning, else there is none), with the fix from the catalog (the guide's line, with `<site>` and
 * `<host>` filled in) and a curl command that shows the same problem. The command is exact — same
 * URL, timeout, CA file and proxy — but a key only ever appears as `$VARIABLE`, never as a value.
 *
 * @example
 *   // { code: 'invalid_api_key', hint: "Check TEMPLATE_MASTER_API_KEY on both sides…",
 *   //   reproduce: `curl -sS -i --max-time 8 -H "X-API-Key: $TEMPLATE_MASTER_API_KEY" 'https://shop.example.fr/api/health/stripe'` }
 */
const FIRST: readonly ErrorCode[] = ['settings_exposed', 'invalid_api_key'];

export function diagnose(
  outcomes: ReadonlyArray<{ name: CheckName; outcome: StepOutcome }>,
  site: SiteRun,
  ctx: DoctorContext,
): Diagnosis | null {
  // The most actionable failure first (issue 9): an exposed credential or a refused key outranks
  // whatever else failed; then the ladder's order.
  const failed = outcomes.filter((o) => o.outcome.status === 'fail');
  const first =
    failed.find((o) => 'code' in o.outcome && FIRST.includes(o.outcome.code)) ??
    failed[0] ??
    outcomes.find((o) => o.outcome.status === 'warn');
  if (first === undefined || !('code' in first.outcome)) return null;
  const code: ErrorCode = first.outcome.code;
  return {
    code,
    hint: fillHint(ERROR_CATALOG[code].hint, site),
    reproduce: reproduce(first.name, code, site, ctx),
  };
}

function fillHint(hint: string, site: SiteRun): string {
  const url = site.url;
  if (url === null) return hint;
  const base = url.href.replace(/\/$/, '');
  return hint.replaceAll('<site>', base).replaceAll('<host>', url.hostname);
}

/** The curl command that shows what check `name` found. */
export function reproduce(name: CheckName, code: ErrorCode, site: SiteRun, ctx: DoctorContext): string {
  const base = site.url === null ? site.input : site.url.href.replace(/\/$/, '');
  const at = (path: string) => quote(`${base}${path}`);
  const flags = commonFlags(site, ctx);
  const key = `-H "${headerName()}: $${site.apiKeyVariable}"`;
  switch (name) {
    case 'url':
      return `curl -sS -I ${quote(site.input.trim())}`;
    case 'dns':
    case 'tcp':
      return `curl -sS -v -o /dev/null ${flags}${at('/')}`;
    case 'tls':
      return code === 'certificate_expiring' || code === 'certificate_expired'
        ? `curl -sS -v -o /dev/null ${flags}${at('/')} 2>&1 | grep -iE 'expire date|SSL certificate'`
        : `curl -sS -v -o /dev/null ${flags}${at('/')}`;
    case 'http':
      return `curl -sS -I ${flags}${at('/')}`;
    case 'health':
      return `curl -sS -i ${flags}${at(ROUTES.health)}`;
    case 'stripe-pk':
      return `curl -sS -i ${flags}${at(ROUTES.stripePk)}`;
    case 'stripe-health':
      if (site.seedSettings !== undefined) {
        if (code === 'settings_exposed') return `curl -sS -i ${flags}${at(ROUTES.settings)}`;
        if (code === 'stale_cache') return `for i in 1 2 3 4; do curl -sS ${flags}${at(ROUTES.stripePk)}; echo; done`;
        return `curl -sS -i ${flags}${key} ${at(ROUTES.exportStats)}`;
      }
      return `curl -sS -i ${flags}${key} ${at(ROUTES.healthStripe)}`;
    case 'test-stripe':
      return `curl -sS -i -X POST ${flags}${key} ${at(ROUTES.testStripe)}`;
    case 'latency':
      return `curl -sS -o /dev/null -w 'connect %{time_connect}s  tls %{time_appconnect}s  first byte %{time_starttransfer}s  total %{time_total}s\\n' ${flags}${at(ROUTES.health)}`;
  }
}

/** Timeout, trusted CA and proxy, as the doctor itself used them. */
function commonFlags(site: SiteRun, ctx: DoctorContext): string {
  const parts = [`--max-time ${ctx.timeoutMs / 1000}`];
  if (ctx.caFile !== undefined && site.url?.protocol === 'https:') {
    parts.push(`--cacert ${ctx.caFileVariable ? `"$${ctx.caFileVariable}"` : quote(ctx.caFile)}`);
  }
  const route = site.route;
  if (route?.proxy && route.variable) parts.push(`-x "$${route.variable}"`);
  else if (route?.bypassed) parts.push(`--noproxy '*'`);
  return `${parts.join(' ')} `;
}

/** The header as the guide writes it. */
function headerName(): string {
  return API_KEY_HEADER.replace(
    /(^|-)([a-z])/g,
    (_m, dash: string, c: string) => `${dash}${c.toUpperCase()}`,
  ).replace('Api', 'API');
}

/** POSIX single quotes: nothing inside is expanded. */
export function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
