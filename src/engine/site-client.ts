import { z } from 'zod';
import {
  HealthBody,
  HealthStripeBody,
  PkBody,
  SavedBody,
  TestStripeBody,
  type ConfirmBody,
} from '../protocol/bodies.js';
import { API_KEY_HEADER, ROUTES, settingPath } from '../protocol/routes.js';
import type { SettingName } from '../protocol/settings.js';
import { createSiteDispatcher } from './dispatcher.js';
import { createInFlightLimit } from './in-flight-limit.js';
import { createRetryPolicy, type RetryClock, type RetryOptions } from './retry-policy.js';
import { createTransport, resolveSite, type Call, type RequestEvent, type SiteResult } from './transport.js';

export type { RequestEvent, SiteResult } from './transport.js';

/**
 * How keyfleet talks to one template site. Every method is one logical call: it goes through the
 * fleet-wide in-flight limit, the per-request timeout and the retry policy, and resolves with the
 * value plus the attempts and time it took, or rejects with a `SiteError` carrying one catalog code.
 * Call sites never branch on retry. Routes and the API key header come from `src/protocol`.
 *
 * @example
 * const client = createSiteClient({ timeoutMs: 8000, retries: 2, concurrency: 16 });
 * const { value: pk, attempts, durationMs } = await client.getPublishableKey('https://site1.example.fr');
 * await client.close();
 */
export interface SiteClientOptions {
  /** Per-request timeout (`--timeout`, seconds × 1000). */
  timeoutMs: number;
  /** Retries after the first attempt (`--retries`). */
  retries: number;
  /** HTTP requests in flight, fleet-wide (`--concurrency`). */
  concurrency: number;
  /** `--allow-http`: plain http:// to non-loopback hosts. */
  allowHttp?: boolean;
  userAgent?: string;
  /** Extra CA certificate (PEM) to trust, e.g. a test CA or a private PKI. */
  ca?: string | Buffer;
  /** Called after every HTTP attempt (`--verbose`); never given a key or a body. */
  onRequest?(event: RequestEvent): void;
  /** Source of HTTP_PROXY / HTTPS_PROXY / NO_PROXY; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Backoff tuning beyond `retries`; defaults in RETRY_DEFAULTS. */
  retry?: Partial<Omit<RetryOptions, 'retries'>>;
  /** Injected clock for tests. */
  clock?: Partial<RetryClock>;
  /** Largest response body read (default 1 MiB). */
  maxResponseBytes?: number;
}

export interface ReadOptions {
  /** The site's last request for a while: close the connection after it (bounded open sockets). */
  close?: boolean;
}

export interface SiteClientStats {
  /** HTTP requests sent (attempts, not logical calls). */
  requests: number;
  peakInFlight: number;
  inFlight: number;
}

export interface SiteClient {
  /** The site's publishable key, or null when it has none (404 no_publishable_key). */
  /** `close`: this is the site's last request for now; the connection is closed after it. */
  getPublishableKey(siteUrl: string, opts?: ReadOptions): Promise<SiteResult<string | null>>;
  getHealth(siteUrl: string): Promise<SiteResult<HealthBody>>;
  /** Public status; with `apiKey`, a site that accepts it adds `authenticated: true` and `keys` — check it. */
  getStripeHealth(
    siteUrl: string,
    apiKey?: string,
    opts?: ReadOptions,
  ): Promise<SiteResult<HealthStripeBody>>;
  putSetting(siteUrl: string, setting: SettingName, value: string, apiKey: string): Promise<SiteResult<void>>;
  testStripe(siteUrl: string, apiKey: string): Promise<SiteResult<TestStripeBody>>;
  rotateCredentials(siteUrl: string, apiKey: string, newKey: string): Promise<SiteResult<void>>;
  confirmCredentials(siteUrl: string, newKey: string, body?: ConfirmBody): Promise<SiteResult<void>>;
  stats(): SiteClientStats;
  /** This site's work is done for now: close its connection (a later call reconnects). */
  release(siteUrl: string): void;
  /** Lets requests in flight finish, then closes every connection. */
  close(): Promise<void>;
}

/** rotate/confirm answer 200 with a success body whose other fields the contract leaves open. */
const OkBody = z.object({ success: z.literal(true) });

const JSON_TYPE = 'application/json';
const toVoid = (): void => undefined;
const identity = <T>(body: T): T => body;

export function createSiteClient(options: SiteClientOptions): SiteClient {
  if (!(options.timeoutMs > 0))
    throw new RangeError(`timeoutMs must be > 0, got ${String(options.timeoutMs)}`);
  const allowHttp = options.allowHttp ?? false;
  const userAgent = options.userAgent ?? 'keyfleet';
  const policy = createRetryPolicy({ ...options.retry, retries: options.retries }, options.clock);
  const limit = createInFlightLimit(options.concurrency);
  const { dispatcher, release } = createSiteDispatcher({
    timeoutMs: options.timeoutMs,
    ca: options.ca,
    env: options.env ?? process.env,
    maxResponseBytes: options.maxResponseBytes ?? 1024 * 1024,
  });
  const transport = createTransport(dispatcher, policy, options.onRequest);

  // Public GETs are the bulk of a verify run: their call descriptions are built once, not per site.
  const publicHeaders = { 'user-agent': userAgent };
  const getPk: Call<PkBody, string | null> = {
    method: 'GET',
    path: ROUTES.stripePk,
    headers: publicHeaders,
    body: null,
    schema: PkBody,
    map: (b) => b.publishable_key,
    absent: { code: 'no_publishable_key', value: null },
    secrets: [],
  };
  const getHealth: Call<HealthBody, HealthBody> = {
    method: 'GET',
    path: ROUTES.health,
    headers: publicHeaders,
    body: null,
    schema: HealthBody,
    map: identity,
    secrets: [],
  };
  const getPkClosing: Call<PkBody, string | null> = { ...getPk, close: true };
  const getStripeHealthPublic = stripeHealthCall(publicHeaders, [], false);
  const getStripeHealthPublicClosing = stripeHealthCall(publicHeaders, [], true);

  function stripeHealthCall(
    headers: Record<string, string>,
    secrets: string[],
    close: boolean,
  ): Call<unknown, HealthStripeBody> {
    // The zod schema is looser than the exported type (keys by string, authenticated boolean); the
    // exported type is what the contract promises, so the parsed body is narrowed here once.
    return {
      method: 'GET',
      path: ROUTES.healthStripe,
      headers,
      body: null,
      schema: HealthStripeBody,
      map: (b) => b as HealthStripeBody,
      secrets,
      close,
    };
  }

  function authed(apiKey: string, withBody: boolean): Record<string, string> {
    return withBody
      ? { 'user-agent': userAgent, [API_KEY_HEADER]: apiKey, 'content-type': JSON_TYPE }
      : { 'user-agent': userAgent, [API_KEY_HEADER]: apiKey };
  }

  // async: a refused URL (insecure_url, or a TypeError for a malformed one) rejects like any failure.
  async function send<B, R>(siteUrl: string, call: Call<B, R>): Promise<SiteResult<R>> {
    return transport.execute(resolveSite(siteUrl, allowHttp), call, limit);
  }

  return {
    getPublishableKey: (siteUrl, opts) => send(siteUrl, opts?.close ? getPkClosing : getPk),
    getHealth: (siteUrl) => send(siteUrl, getHealth),
    getStripeHealth: (siteUrl, apiKey, opts) =>
      send(
        siteUrl,
        apiKey === undefined
          ? opts?.close
            ? getStripeHealthPublicClosing
            : getStripeHealthPublic
          : stripeHealthCall(authed(apiKey, false), [apiKey], opts?.close === true),
      ),
    putSetting: (siteUrl, setting, value, apiKey) =>
      send(siteUrl, {
        method: 'PUT',
        path: settingPath(setting),
        headers: authed(apiKey, true),
        body: JSON.stringify({ value }),
        schema: SavedBody,
        map: toVoid,
        secrets: [apiKey, value],
      }),
    testStripe: (siteUrl, apiKey) =>
      send(siteUrl, {
        method: 'POST',
        path: ROUTES.testStripe,
        headers: authed(apiKey, false),
        body: null,
        schema: TestStripeBody,
        map: identity,
        secrets: [apiKey],
      }),
    rotateCredentials: (siteUrl, apiKey, newKey) =>
      send(siteUrl, {
        method: 'POST',
        path: ROUTES.rotateCredentials,
        headers: authed(apiKey, true),
        body: JSON.stringify({ new_key: newKey }),
        schema: OkBody,
        map: toVoid,
        secrets: [apiKey, newKey],
      }),
    confirmCredentials: (siteUrl, newKey, body) =>
      send(siteUrl, {
        method: 'POST',
        path: ROUTES.confirmCredentials,
        headers: authed(newKey, body !== undefined),
        body: body === undefined ? null : JSON.stringify(body),
        schema: OkBody,
        map: toVoid,
        secrets: [newKey],
      }),
    stats: () => ({ requests: transport.requests, peakInFlight: limit.peak, inFlight: limit.inFlight }),
    release: (siteUrl) => release(new URL(siteUrl).origin),
    close: () => dispatcher.close(),
  };
}
