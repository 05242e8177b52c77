import { connect } from 'node:net';
import { classifyError } from '../engine/classify.js';
import type { ErrorCode } from '../protocol/error-catalog.js';
import { fail, pass, warn, type DoctorContext, type SiteRun, type StepOutcome } from './check.js';
import { portOf } from './socket-address.js';
import { proxyOrigin } from './proxy-route.js';

/**
 * Check 3, TCP connect: the guide's `telnet <host> 443`. Tries the resolved addresses in order (as
 * the transport's happy-eyeballs connect would) and reports the first that accepts: refused, timed
 * out, or open and how fast. An address that fails before another succeeds is a warning: some
 * clients will hit it. Through a proxy, it is the proxy that must accept.
 */
const MAX_ADDRESSES = 4;

type Attempt = { ok: true; ms: number } | { ok: false; code: ErrorCode; why: string };

export async function checkTcp(site: SiteRun, ctx: DoctorContext): Promise<StepOutcome> {
  const proxy = site.route?.proxy ?? null;
  const port = portOf(proxy ?? (site.url as URL));
  const what = proxy === null ? '' : ` (the proxy ${proxyOrigin(proxy)})`;
  const failed: string[] = [];
  let last: { code: ErrorCode; why: string } | null = null;
  for (const address of site.addresses.slice(0, MAX_ADDRESSES)) {
    const result = await ctx.http.limit.run(() => connectOnce(address, port, ctx.timeoutMs));
    const shown = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    if (result.ok) {
      site.reached = address;
      const opened = `${shown}${what} open in ${result.ms} ms`;
      if (failed.length === 0) return pass(opened);
      return warn(last?.code ?? 'connection_refused', `${failed.join('; ')}; ${opened}`);
    }
    last = result;
    failed.push(`${shown} ${result.why}`);
  }
  return fail(last?.code ?? 'connection_refused', `${failed.join('; ')}${what}`);
}

/** One connection, closed as soon as it is open; never longer than `timeoutMs`. */
export function connectOnce(host: string, port: number, timeoutMs: number): Promise<Attempt> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: Attempt) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => done({ ok: false, code: 'timeout', why: `timed out after ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once('connect', () => done({ ok: true, ms: Math.round(performance.now() - started) }));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const code = classifyError(err)?.code ?? 'connection_refused';
      done({ ok: false, code, why: describe(err.code) });
    });
  });
}

function describe(code: string | undefined): string {
  if (code === 'ECONNREFUSED') return 'refused (nothing listens there)';
  if (code === 'ETIMEDOUT') return 'timed out';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `unreachable (${code})`;
  return `failed (${code ?? 'error'})`;
}
