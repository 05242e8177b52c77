import type { Dispatcher } from 'undici';
import type { ErrorCode } from '../protocol/error-catalog.js';
import { classifyError, classifyResponse, type BodyCheck, type ErrorDialect, type Failure } from './classify.js';
import type { InFlightLimit } from './in-flight-limit.js';
import type { RetryPolicy } from './retry-policy.js';
import { SiteError } from './site-error.js';

/**
 * One logical call to one site, as attempts: each attempt holds an in-flight slot only while it is
 * on the wire (backoff sleeps outside the limit, so a sick site never starves the fleet), reads the
 * whole body so the keep-alive connection goes back to its pool, and is classified into a value or
 * one failure code. The retry decision is the policy's alone.
 */
export interface Call<B, R> {
  readonly method: 'GET' | 'PUT' | 'POST';
  /** Route from ROUTES/settingPath, appended to the site's base path. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Compact JSON, or null for no body. */
  readonly body: string | null;
  /** The documented 2xx body; anything else is `unexpected_response`. */
  readonly schema: BodyCheck<B>;
  /** How the site spells its errors (default `keyfleet`); `seed` for the original template. */
  readonly dialect?: ErrorDialect;
  readonly map: (body: B) => R;
  /** A documented error that is an answer on this route (404 no_publishable_key → null). */
  readonly absent?: { readonly code: ErrorCode; readonly value: R };
  /** Values this call sends that no error message may contain. */
  readonly secrets: readonly string[];
  /**
   * The body holds a Stripe secret: the site's own text is never kept for this call's errors, only
   * the status and the catalog code (issue 12: masking cannot catch every way a site may echo it).
   */
  readonly sendsSecret?: boolean;
  /**
   * The site's last request for a while: ask for the connection to be closed after it, so a fleet
   * of 50,000 sites never holds 50,000 idle sockets (file descriptors) between phases.
   */
  readonly close?: boolean;
}

export interface SiteResult<T> {
  value: T;
  /** HTTP attempts made, retries included. */
  attempts: number;
  /** From the first attempt's start to the last one's end, backoff included. */
  durationMs: number;
}

export interface RequestEvent {
  method: string;
  /** Origin and path, never a key. */
  url: string;
  /** 1-based attempt number within the logical call. */
  attempt: number;
  status: number | null;
  /** null when the attempt succeeded. */
  code: ErrorCode | null;
  durationMs: number;
}

export interface Transport {
  execute<B, R>(target: SiteTarget, call: Call<B, R>, limit: InFlightLimit): Promise<SiteResult<R>>;
  /** HTTP requests sent so far. */
  readonly requests: number;
}

type Outcome<R> =
  | { ok: true; value: R }
  | { ok: false; failure: Failure; status: number | null; retryAfterMs: number | null; cause: unknown };

export function createTransport(
  dispatcher: Dispatcher,
  policy: RetryPolicy,
  onRequest: ((event: RequestEvent) => void) | undefined,
): Transport {
  let requests = 0;

  async function attempt<B, R>(target: SiteTarget, call: Call<B, R>, n: number): Promise<Outcome<R>> {
    const started = performance.now();
    let outcome: Outcome<R>;
    let status: number | null = null;
    try {
      requests += 1;
      const res = await dispatcher.request({
        origin: target.origin,
        path: target.basePath + call.path,
        method: call.method,
        headers: call.headers,
        body: call.body,
        reset: call.close === true,
      });
      status = res.statusCode;
      // Always read to the end (bounded by maxResponseSize): an unread body pins the connection.
      const text = await res.body.text();
      const verdict = classifyResponse(status, text, call.schema, header(res.headers.location), call.dialect);
      if (verdict.ok) outcome = { ok: true, value: call.map(verdict.value) };
      else if (call.absent !== undefined && verdict.code === call.absent.code)
        outcome = { ok: true, value: call.absent.value };
      else {
        const retryAfterMs = policy.options.retryOn.has(verdict.code)
          ? policy.parseRetryAfter(res.headers['retry-after'])
          : null;
        outcome = { ok: false, failure: verdict, status, retryAfterMs, cause: undefined };
      }
    } catch (err) {
      const failure = classifyError(err);
      if (failure === null) throw err; // not a site's failure: cancellation, closed client, a bug
      outcome = { ok: false, failure, status, retryAfterMs: null, cause: err };
    }
    if (onRequest !== undefined) {
      onRequest({
        method: call.method,
        url: target.origin + target.basePath + call.path,
        attempt: n,
        status,
        code: outcome.ok ? null : outcome.failure.code,
        durationMs: Math.round(performance.now() - started),
      });
    }
    return outcome;
  }

  async function execute<B, R>(
    target: SiteTarget,
    call: Call<B, R>,
    limit: InFlightLimit,
  ): Promise<SiteResult<R>> {
    let firstStart = -1;
    for (let n = 1; ; n++) {
      const outcome = await limit.run(() => {
        if (firstStart < 0) firstStart = performance.now();
        return attempt(target, call, n);
      });
      const durationMs = Math.round(performance.now() - firstStart);
      if (outcome.ok) return { value: outcome.value, attempts: n, durationMs };
      const { code, detail } = outcome.failure;
      if (!policy.shouldRetry(code, n)) {
        // Built once, at the end: failed attempts that are retried cost no Error and no stack trace.
        throw new SiteError({
          code,
          url: target.origin + target.basePath + call.path,
          httpStatus: outcome.status,
          detail: call.sendsSecret ? null : detail,
          attempts: n,
          durationMs,
          retryAfterMs: outcome.retryAfterMs,
          secrets: call.secrets,
          cause: outcome.cause,
        });
      }
      await policy.sleep(policy.delayMs(n, outcome.retryAfterMs));
    }
  }

  return {
    execute,
    get requests() {
      return requests;
    },
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Where one site lives, split the way undici wants it (origin + path), and the plain-http rule of
 * DESIGN.md §2: `http://` is refused unless the host is loopback or `--allow-http` was given, before
 * any byte is sent — a key in clear text over a network is the failure we refuse to risk.
 */
export interface SiteTarget {
  /** `https://host:port`, what undici keys its per-origin pool on. */
  readonly origin: string;
  /** The site URL's path without a trailing slash ('' at the root), prefixed to every route. */
  readonly basePath: string;
}

export function resolveSite(siteUrl: string, allowHttp: boolean): SiteTarget {
  const url = new URL(siteUrl);
  const basePath = url.pathname.replace(/\/+$/, '');
  if (url.protocol === 'http:') {
    if (!allowHttp && !isLoopbackHost(url.hostname)) {
      // origin + path only: userinfo or a query string could hold a credential.
      throw new SiteError({ code: 'insecure_url', url: url.origin + basePath, attempts: 0 });
    }
  } else if (url.protocol !== 'https:') {
    throw new TypeError(`Unsupported protocol ${url.protocol} in site URL ${url.origin}: use https://`);
  }
  return { origin: url.origin, basePath };
}

/**
 * 127.0.0.0/8, ::1 (also as an IPv4-mapped address) and `localhost`: traffic that never leaves the
 * machine. Expects WHATWG `URL.hostname`, which already normalises case, IPv4 shorthand and brackets.
 */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
    /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(hostname)
  );
}
