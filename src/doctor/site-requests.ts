import { SiteError } from '../engine/site-error.js';
import type { SiteTarget } from '../engine/transport.js';
import { fail, type DoctorContext, type SiteRun, type StepOutcome } from './check.js';
import type { SiteHttp } from './doctor-http.js';

/**
 * How the HTTP checks (http-checks.ts, seed-checks.ts, stripe-checks.ts) make their requests to one
 * site: through its HTTP view, made once and recording every attempt, and a failed request turned
 * into a failed check.
 */

/** The site's HTTP view, made on first use; every attempt is recorded for the latency check. */
export function httpFor(site: SiteRun, ctx: DoctorContext): SiteHttp {
  site.http ??= ctx.http.forSite(site.target as SiteTarget, (event) => site.events.push(event));
  return site.http;
}

/** A request that failed in transport (or with a status the transport refuses), as a failed check. */
export function failFrom(err: unknown): StepOutcome {
  if (!(err instanceof SiteError)) throw err;
  return fail(err.code, err.attempts > 1 ? `${err.message} after ${err.attempts} attempts` : err.message);
}
