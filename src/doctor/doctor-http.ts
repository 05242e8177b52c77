import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { classifyError, classifyResponse } from '../engine/classify.js';
import { createDispatcher } from '../engine/dispatcher.js';
import { createInFlightLimit, type InFlightLimit } from '../engine/in-flight-limit.js';
import { createRetryPolicy } from '../engine/retry-policy.js';
import { SiteError } from '../engine/site-error.js';
import {
  createTransport,
  type Call,
  type RequestEvent,
  type SiteResult,
  type SiteTarget,
} from '../engine/transport.js';

/**
 * The doctor's HTTP, built from the engine's own parts: the transport's dispatcher (same TLS
 * verification, extra CA, timeouts and proxy variables as push), one fleet-wide in-flight limit
 * (`--concurrency`, which the DNS/TCP/TLS checks share, so the doctor never has more than C network
 * operations open) and the one retry policy. JSON routes go through the engine's transport
 * unchanged (`call`); `probe` is for the checks that must see what the transport does not return —
 * a status it would call a failure, the Location, Server and CORS headers — and keeps the
 * transport's rules: a slot only while on the wire, the whole body read, failures classified by
 * classify.ts, retries only where the policy says so.
 *
 * Each site gets its own dispatcher, closed as soon as its ladder ends: the doctor visits a site
 * once, and a shared one would keep every site's keep-alive connection open until the site drops
 * it — one descriptor per site, which ends in EMFILE past `ulimit -n` sites. Here at most the
 * sites in progress (2 × C) hold a connection.
 *
 * @example
 * const http = createDoctorHttp({ timeoutMs: 8000, retries: 2, concurrency: 16, env: process.env });
 * const site = http.forSite(resolveSite(url, false), (e) => events.push(e));
 * const home = await site.probe('/', { discardBody: true }); // { status, headers, … }
 * await site.close();
 */
export type HttpEvent = RequestEvent;

export interface ProbeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** '' when the body was discarded. */
  body: string;
  attempts: number;
  durationMs: number;
}

export interface SiteHttp {
  /** GET `path` under the site's base path; any status resolves, transport failures reject (SiteError). */
  probe(path: string, options?: { discardBody?: boolean }): Promise<ProbeResponse>;
  /** One call through the engine's transport: the documented body, or a SiteError. */
  call<B, R>(call: Call<B, R>): Promise<SiteResult<R>>;
  /** Closes this site's connections: the doctor is done with it. */
  close(): Promise<void>;
}

export interface DoctorHttp {
  readonly limit: InFlightLimit;
  forSite(target: SiteTarget, onEvent: (event: HttpEvent) => void): SiteHttp;
  close(): Promise<void>;
}

export interface DoctorHttpOptions {
  timeoutMs: number;
  retries: number;
  concurrency: number;
  ca?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** Every attempt, for `--verbose`. */
  onRequest?: ((event: HttpEvent) => void) | undefined;
}

const USER_AGENT = 'keyfleet-doctor';
const ANY = z.unknown();
/** A landing page larger than this is drained no further (the connection is dropped instead). */
const MAX_DISCARD = 1024 * 1024;

export function createDoctorHttp(options: DoctorHttpOptions): DoctorHttp {
  const policy = createRetryPolicy({ retries: options.retries });
  const limit = createInFlightLimit(options.concurrency);
  const open = new Set<Dispatcher>();

  function forSite(target: SiteTarget, onEvent: (event: HttpEvent) => void): SiteHttp {
    const dispatcher = createDispatcher({
      timeoutMs: options.timeoutMs,
      ca: options.ca,
      env: options.env,
      maxResponseBytes: 1024 * 1024,
    });
    open.add(dispatcher);
    const emit = (event: HttpEvent) => {
      onEvent(event);
      options.onRequest?.(event);
    };
    const transport = createTransport(dispatcher, policy, emit);

    async function probe(path: string, opts: { discardBody?: boolean } = {}): Promise<ProbeResponse> {
      const url = target.origin + target.basePath + path;
      const first = performance.now();
      for (let n = 1; ; n++) {
        const started = performance.now();
        const event = (status: number | null, code: HttpEvent['code']) =>
          emit({
            method: 'GET',
            url,
            attempt: n,
            status,
            code,
            durationMs: Math.round(performance.now() - started),
          });
        let res: { status: number; headers: IncomingHttpHeaders; body: string };
        try {
          res = await limit.run(async () => {
            const r = await dispatcher.request({
              origin: target.origin,
              path: target.basePath + path,
              method: 'GET',
              headers: { 'user-agent': USER_AGENT },
            });
            // Read to the end either way: an unread body pins the keep-alive connection.
            const body = opts.discardBody
              ? (await r.body.dump({ limit: MAX_DISCARD }), '')
              : await r.body.text();
            return { status: r.statusCode, headers: r.headers, body };
          });
        } catch (err) {
          const failure = classifyError(err);
          if (failure === null) throw err;
          event(null, failure.code);
          if (policy.shouldRetry(failure.code, n)) {
            await policy.sleep(policy.delayMs(n, null));
            continue;
          }
          const durationMs = Math.round(performance.now() - first);
          throw new SiteError({
            code: failure.code,
            url,
            detail: failure.detail,
            attempts: n,
            durationMs,
            cause: err,
          });
        }
        const verdict = res.status >= 400 ? classifyResponse(res.status, res.body, ANY) : null;
        const code = verdict !== null && !verdict.ok ? verdict.code : null;
        event(res.status, code);
        if (code !== null && policy.shouldRetry(code, n)) {
          await policy.sleep(policy.delayMs(n, policy.parseRetryAfter(res.headers['retry-after'])));
          continue;
        }
        return { ...res, attempts: n, durationMs: Math.round(performance.now() - first) };
      }
    }

    return {
      probe,
      call: (call) => transport.execute(target, call, limit),
      close: async () => {
        open.delete(dispatcher);
        await dispatcher.close();
      },
    };
  }

  return {
    limit,
    forSite,
    close: async () => {
      await Promise.all([...open].map((d) => d.close()));
      open.clear();
    },
  };
}

/** A header as one string (the first, when repeated). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
