import type { ConfirmBody, HealthBody, HealthStripeBody, PkBody, TestStripeBody } from '../protocol/bodies.js';
import { anyObject, healthBody, healthStripeBody, pkBody, priceBody, savedBody, successBody, testStripeBody } from './body-checks.js';
import type { ErrorDialect } from './classify.js';
import { API_KEY_HEADER, ROUTES, settingPath } from '../protocol/routes.js';
import { SETTINGS, type SettingName } from '../protocol/settings.js';
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
  /** `dialect: 'seed'` reads the original template's answers (SEED_TEMPLATE.md) as they are. */
  putSetting(siteUrl: string, setting: SettingName, value: string, apiKey: string, dialect?: ErrorDialect): Promise<SiteResult<void>>;
  /**
   * The atomic write (`PUT /api/export/settings`, issue 10): every value in one transaction; the
   * answer is the authenticated key view as committed, which is the proof.
   */
  putSettings(siteUrl: string, values: Partial<Record<SettingName, string>>, apiKey: string, opts?: ReadOptions): Promise<SiteResult<HealthStripeBody>>;
  /** Seed sites: `GET /api/export/stats`, the one request that proves a key with no side effect. */
  getExportStats(siteUrl: string, apiKey: string): Promise<SiteResult<void>>;
  /** Seed sites: the public price id, or null when none is set (404 not_found). */
  getPriceId(siteUrl: string, opts?: ReadOptions): Promise<SiteResult<string | null>>;
  /** Seed sites: the publishable key read with the seed's error conventions. */
  getSeedPublishableKey(siteUrl: string, opts?: ReadOptions): Promise<SiteResult<string | null>>;
  /** Seed sites: the public `GET /api/export/settings` (the doctor looks for what it exposes). */
  getPublicSettings(siteUrl: string): Promise<SiteResult<Record<string, unknown>>>;
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
const OkBody = successBody;

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
    schema: pkBody,
    map: (b: PkBody) => b.publishable_key,
    absent: { code: 'no_publishable_key', value: null },
    secrets: [],
  };
  const getSeedPk: Call<PkBody, string | null> = { ...getPk, dialect: 'seed' };
  const getSeedPkClosing: Call<PkBody, string | null> = { ...getSeedPk, close: true };
  const getPrice: Call<{ price_id: string }, string | null> = {
    method: 'GET',
    path: settingPath('stripe_price_id'),
    headers: publicHeaders,
    body: null,
    schema: priceBody,
    map: (b) => b.price_id,
    absent: { code: 'not_found', value: null },
    secrets: [],
    dialect: 'seed',
  };
  const getPriceClosing = { ...getPrice, close: true };
  const getHealth: Call<HealthBody, HealthBody> = {
    method: 'GET',
    path: ROUTES.health,
    headers: publicHeaders,
    body: null,
    schema: healthBody,
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
  ): Call<HealthStripeBody, HealthStripeBody> {
    // The zod schema is looser than the exported type (keys by string, authenticated boolean); the
    // exported type is what the contract promises, so the parsed body is narrowed here once.
    return {
      method: 'GET',
      path: ROUTES.healthStripe,
      headers,
      body: null,
      schema: healthStripeBody,
      map: identity,
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
    putSetting: (siteUrl, setting, value, apiKey, dialect) =>
      send(siteUrl, {
        method: 'PUT',
        path: settingPath(setting),
        headers: authed(apiKey, true),
        body: JSON.stringify({ value }),
        schema: savedBody,
        map: toVoid,
        secrets: [apiKey, value],
        sendsSecret: SETTINGS[setting]?.secret === true,
        dialect,
      }),
    putSettings: (siteUrl, values, apiKey, opts) =>
      send(siteUrl, {
        method: 'PUT',
        path: ROUTES.settings,
        headers: authed(apiKey, true),
        body: JSON.stringify({ values }),
        schema: healthStripeBody,
        map: identity,
        secrets: [apiKey, ...(Object.values(values) as string[])],
        sendsSecret: Object.keys(values).some((n) => SETTINGS[n as SettingName]?.secret === true),
        close: opts?.close === true,
      }),
    getExportStats: (siteUrl, apiKey) =>
      send(siteUrl, {
        method: 'GET',
        path: ROUTES.exportStats,
        headers: authed(apiKey, false),
        body: null,
        schema: successBody,
        map: toVoid,
        secrets: [apiKey],
        dialect: 'seed',
      }),
    getPriceId: (siteUrl, opts) => send(siteUrl, opts?.close ? getPriceClosing : getPrice),
    getSeedPublishableKey: (siteUrl, opts) => send(siteUrl, opts?.close ? getSeedPkClosing : getSeedPk),
    getPublicSettings: (siteUrl) =>
      send(siteUrl, {
        method: 'GET',
        path: ROUTES.settings,
        headers: publicHeaders,
        body: null,
        schema: anyObject,
        map: identity,
        secrets: [],
        dialect: 'seed',
      }),
    testStripe: (siteUrl, apiKey) =>
      send(siteUrl, {
        method: 'POST',
        path: ROUTES.testStripe,
        headers: authed(apiKey, false),
        body: null,
        schema: testStripeBody,
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
