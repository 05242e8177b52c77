import { z } from 'zod';
import { classifyResponse } from '../engine/classify.js';
import { isLoopbackHost } from '../engine/site-url.js';
import type { SiteTarget } from '../engine/transport.js';
import { HealthBody, PkBody } from '../protocol/bodies.js';
import { maskKey } from '../protocol/fingerprint.js';
import { isValidKey, keyMode } from '../protocol/key-formats.js';
import { ROUTES } from '../protocol/routes.js';
import { clip, fail, pass, warn, type DoctorContext, type SiteRun, type StepOutcome } from './check.js';
import { headerValue, type ProbeResponse } from './doctor-http.js';
import { detectSeed } from './seed-checks.js';
import { failFrom, httpFor } from './site-requests.js';

/**
 * Checks 5 to 7, the public HTTP ladder: the guide's `curl -I https://site`, `curl …/api/health` and
 * `curl …/api/stripe-pk`. Each reads the status and headers the push transport does not surface: a
 * redirect (to plain http:// is a failure), the Server header, the CORS header of the key route.
 */
const ANY = z.unknown();

const tries = (res: ProbeResponse) => (res.attempts > 1 ? `, after ${res.attempts} attempts` : '');

/** Check 5: GET / answers, does not send the browser to plain http://, and says what serves it. */
export async function checkHome(site: SiteRun, ctx: DoctorContext): Promise<StepOutcome> {
  let res: ProbeResponse;
  try {
    res = await httpFor(site, ctx).probe(ROUTES.home, { discardBody: true });
  } catch (err) {
    return failFrom(err);
  }
  const server = headerValue(res.headers, 'server');
  const facts = `${res.status} in ${res.durationMs} ms, ${server ? `server: ${clip(server, 60)}` : 'no Server header'}${tries(res)}`;
  const redirect = redirectOutcome(site, res, ROUTES.home);
  if (redirect !== null) return redirect.status === 'pass' ? pass(`${facts}, ${redirect.detail}`) : redirect;
  if (res.status < 300) return pass(facts);
  const verdict = classifyResponse(res.status, res.body, ANY);
  const code = verdict.ok ? 'unexpected_response' : verdict.code;
  // A missing landing page is worth knowing; the API routes below decide whether the site works.
  return res.status >= 500 ? fail(code, facts) : warn(code, facts);
}

/** Check 6: GET /api/health is the documented body, with the database up. */
export async function checkHealth(site: SiteRun, ctx: DoctorContext): Promise<StepOutcome> {
  let res: ProbeResponse;
  try {
    res = await httpFor(site, ctx).probe(ROUTES.health);
  } catch (err) {
    return failFrom(err);
  }
  const redirect = redirectOutcome(site, res, ROUTES.health);
  if (redirect !== null && redirect.status !== 'pass') return redirect;
  const verdict = classifyResponse(res.status, res.body, HealthBody);
  // No /api/health at all: the original template has none (issue 9) — not a failure of the site.
  if (res.status === 404 && ctx.protocol !== 'keyfleet' && (await detectSeed(site, ctx))) {
    return pass(`seed template: no /api/health (the original template has none; GET /api/export/settings answers)${tries(res)}`);
  }
  const body = verdict.ok ? verdict.value : parseHealth(res.body);
  if (body !== null && (body.database !== 'ok' || body.status !== 'ok')) {
    return fail(
      'database_unavailable',
      `${res.status}: status ${body.status}, database ${body.database}${tries(res)}`,
    );
  }
  // A 2xx health body with other or missing optional fields: worth a look, not a failure.
  if (!verdict.ok && res.status >= 200 && res.status < 300 && looseHealthOk(res.body)) {
    return warn('unexpected_response', `${res.status}: status ok, but the body is not the documented one (fields missing or changed)${tries(res)}`);
  }
  if (!verdict.ok)
    return fail(
      verdict.code,
      `${res.status}${verdict.detail ? `: ${clip(verdict.detail)}` : ''}${tries(res)}`,
    );
  return pass(
    `${res.status} in ${res.durationMs} ms: status ok, database ok, version ${clip(verdict.value.version, 40)}${tries(res)}`,
  );
}

/** Check 7: GET /api/stripe-pk serves a well-formed key, to any origin, in the expected mode. */
export async function checkStripePk(site: SiteRun, ctx: DoctorContext): Promise<StepOutcome> {
  let res: ProbeResponse;
  try {
    res = await httpFor(site, ctx).probe(ROUTES.stripePk);
  } catch (err) {
    return failFrom(err);
  }
  const redirect = redirectOutcome(site, res, ROUTES.stripePk);
  if (redirect !== null && redirect.status !== 'pass') return redirect;
  const verdict = classifyResponse(res.status, res.body, PkBody);
  if (!verdict.ok)
    return fail(
      verdict.code,
      `${res.status}${verdict.detail ? `: ${clip(verdict.detail)}` : ''}${tries(res)}`,
    );
  const pk = verdict.value.publishable_key;
  if (!isValidKey('publishable_key', pk)) {
    return fail(
      'invalid_publishable_key_format',
      `serves ${maskKey(pk)}, which is not a pk_test_/pk_live_ key`,
    );
  }
  site.servedPk = pk;
  const cors = headerValue(res.headers, 'access-control-allow-origin');
  const facts = `${maskKey(pk)} (${keyMode(pk)} mode), ${cors ? `Access-Control-Allow-Origin: ${clip(cors, 40)}` : 'no CORS header'}${tries(res)}`;
  const expected = ctx.expected.stripe_publishable_key;
  if (expected !== undefined && expected !== pk) {
    const what = `serves ${maskKey(pk)}, STRIPE_PUBLISHABLE_KEY is ${maskKey(expected)}`;
    // With a key, the authenticated check can tell why (shadowing env var, stale cache…).
    if (site.apiKey !== null) return warn('verify_mismatch', `${what}; see stripe-health`);
    return fail('verify_mismatch', what);
  }
  // The original template sends no CORS header on this route (SEED_TEMPLATE.md): its own pages need none.
  if (!cors && site.seedSettings !== undefined) return pass(`${facts} (seed template: none expected)`);
  if (!cors) return warn('cors_header_missing', facts);
  return pass(facts);
}

/**
 * A 3xx: to plain http:// (from https://, off loopback) fails, to another origin is a warning, and
 * within the site it is fine for GET / (null when `res` is not a redirect).
 */
function redirectOutcome(site: SiteRun, res: ProbeResponse, path: string): StepOutcome | null {
  if (res.status < 300 || res.status >= 400) return null;
  const location = headerValue(res.headers, 'location');
  const base = site.url as URL;
  const target = site.target as SiteTarget;
  if (location === undefined)
    return warn('site_redirects', `GET ${path}: ${res.status} without a Location header`);
  let to: URL;
  try {
    to = new URL(location, `${target.origin}${target.basePath}${path}`);
  } catch {
    return warn('site_redirects', `GET ${path}: ${res.status} to an unreadable Location`);
  }
  // Origin and path only: a Location's query or userinfo is not ours to print.
  const shown = `${to.origin}${to.pathname}`;
  if (base.protocol === 'https:' && to.protocol === 'http:' && !isLoopbackHost(to.hostname)) {
    return fail('redirects_to_http', `GET ${path} redirects (${res.status}) to ${shown}`);
  }
  if (to.origin !== base.origin)
    return fail('site_redirects', `GET ${path} redirects (${res.status}) to ${shown}`);
  if (path !== ROUTES.home)
    return fail('unexpected_response', `GET ${path} redirects (${res.status}) to ${to.pathname}`);
  return pass(`redirects to ${to.pathname}`);
}

function looseHealthOk(body: string): boolean {
  try {
    const json = JSON.parse(body) as unknown;
    return typeof json === 'object' && json !== null && (json as { status?: unknown }).status === 'ok';
  } catch {
    return false;
  }
}

function parseHealth(body: string): HealthBody | null {
  try {
    const parsed = HealthBody.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
