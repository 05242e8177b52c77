import type { ErrorCode } from '../protocol/error-catalog.js';
import { pass, plural, skip, warn, type DoctorContext, type SiteRun, type StepOutcome } from './check.js';
import type { HttpEvent } from './doctor-http.js';
import { describeRoute } from './proxy-route.js';

/**
 * Check 10, latency and the network path: the guide's `time curl -I` and `echo $HTTPS_PROXY`. From
 * every HTTP attempt the ladder made, the slowest against `--timeout` (past half of it is a warning:
 * a busier moment will time out), the requests that only succeeded after a retry (a warning, with
 * the code of what went wrong first), and which proxy, if any, carried them.
 */
const SLOW_FRACTION = 0.5;

export function checkLatency(site: SiteRun, ctx: DoctorContext): StepOutcome {
  const route = site.route === null ? 'route unknown' : describeRoute(site.route, ctx.env);
  const answered = site.events.filter((e) => e.status !== null);
  if (answered.length === 0) return skip(`no HTTP response to measure; ${route}`);
  const slowest = slowestOf(answered);
  const retried = retriedCalls(site.events);
  const path = new URL(slowest.url).pathname;
  const facts = `slowest ${slowest.method} ${path} ${slowest.durationMs} ms of ${ctx.timeoutMs} ms timeout, ${plural(site.events.length, 'request')}; ${route}`;
  if (slowest.durationMs > ctx.timeoutMs * SLOW_FRACTION) return warn('slow_response', facts);
  if (retried.length > 0) {
    const first = retried[0] as { call: string; code: ErrorCode };
    const list = retried.map((r) => `${r.call} (${r.code})`).join(', ');
    return warn(first.code, `needed retries: ${list}; ${facts}`);
  }
  return pass(facts);
}

/** The slowest answered attempt of the site; null when no HTTP request got an answer. */
export function slowestMs(site: SiteRun): number | null {
  const answered = site.events.filter((e) => e.status !== null);
  return answered.length === 0 ? null : slowestOf(answered).durationMs;
}

function slowestOf(events: HttpEvent[]): HttpEvent {
  return events.reduce((a, b) => (b.durationMs > a.durationMs ? b : a));
}

/** Calls that took more than one attempt, with the code of the first: the site is flaky. */
function retriedCalls(events: HttpEvent[]): Array<{ call: string; code: ErrorCode }> {
  const byCall = new Map<string, HttpEvent[]>();
  for (const e of events) {
    const key = `${e.method} ${new URL(e.url).pathname}`;
    const list = byCall.get(key) ?? [];
    list.push(e);
    byCall.set(key, list);
  }
  const out: Array<{ call: string; code: ErrorCode }> = [];
  for (const [call, list] of byCall) {
    const firstCode = list[0]?.code;
    if (list.length > 1 && firstCode) out.push({ call, code: firstCode });
  }
  return out;
}
