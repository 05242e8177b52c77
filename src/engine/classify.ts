import { ERROR_CATALOG, isErrorCode, type ErrorCode } from '../protocol/error-catalog.js';

/**
 * Turns what happened to one request — a thrown transport error, or a status and a body — into
 * exactly one catalog code (DESIGN.md §2 "Each failure is classified with one code"). Pure functions,
 * no I/O: the site client feeds them, the tests table-drive them.
 */
export interface Failure {
  readonly code: ErrorCode;
  /** What the socket or the site said: a system error code, the JSON error's message, … */
  readonly detail: string | null;
}

/**
 * What a 2xx body must be: zod schemas satisfy it, and so do the cheap hand-written shape checks of
 * the push's hot path (body-checks.ts), where the body is ours and a full schema walk costs CPU.
 */
export interface BodyCheck<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false };
}

/**
 * How a site spells its errors. `keyfleet`: the catalog's codes with the catalog's statuses. `seed`:
 * the original template's (SEED_TEMPLATE.md) — 401 and 403 with any body are a refused key, a 400's
 * `error` is a format code, a 500 keeps the exception text.
 */
export type ErrorDialect = 'keyfleet' | 'seed';

/** Codes the original template answers with, as the catalog names them. */
const SEED_ALIASES: Readonly<Record<string, ErrorCode>> = {
  invalid_publishable_format: 'invalid_publishable_key_format',
  invalid_price_format: 'invalid_price_id_format',
  'Valeur manquante': 'invalid_request',
  'Missing value': 'invalid_request',
};

export type Verdict<T> = { readonly ok: true; readonly value: T } | ({ readonly ok: false } & Failure);

// undici 7 error codes (lib/core/errors.js) and Node system/TLS error codes, by meaning.
const BY_CODE: Readonly<Record<string, ErrorCode>> = {
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'timeout',
  ECONNREFUSED: 'connection_refused',
  // Nothing listens or nothing routes there: the fix is the same as for a refusal.
  EHOSTUNREACH: 'connection_refused',
  ENETUNREACH: 'connection_refused',
  EHOSTDOWN: 'connection_refused',
  ENETDOWN: 'connection_refused',
  EADDRNOTAVAIL: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  ECONNABORTED: 'connection_reset',
  ENETRESET: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  UND_ERR_INFO: 'connection_reset',
  // The body stopped short of its Content-Length: the connection dropped mid-response.
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'connection_reset',
  ENOTFOUND: 'dns_not_found',
  EAI_AGAIN: 'dns_not_found',
  EAI_NONAME: 'dns_not_found',
  EAI_NODATA: 'dns_not_found',
  EAI_FAIL: 'dns_not_found',
  EPROTO: 'tls_error',
  UND_ERR_PRX_TLS: 'tls_error',
  // This machine is out of file descriptors: a failure of the run, not of the site, but classified so
  // one site's result says so instead of the whole run crashing.
  EMFILE: 'too_many_open_files',
  ENFILE: 'too_many_open_files',
  // Something answers, but not a sane HTTP/JSON server (or an unbounded page).
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'unexpected_response',
  UND_ERR_HEADERS_OVERFLOW: 'unexpected_response',
};

/** OpenSSL verification codes as Node reports them, plus Node's own TLS/SSL error codes. */
const TLS_CODE =
  /^(?:CERT_|UNABLE_TO_|ERR_TLS_|ERR_SSL_|ERR_OSSL_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|INVALID_CA$|INVALID_PURPOSE$|PATH_LENGTH_EXCEEDED$)/;

/**
 * Classifies a thrown transport error. Returns null for anything that is not a site's failure
 * (a cancellation, a destroyed client, a bug): the caller rethrows those untouched.
 */
export function classifyError(err: unknown): Failure | null {
  // undici sometimes wraps (cause), Node's happy-eyeballs connect throws an AggregateError (errors).
  let current: unknown = err;
  for (let depth = 0; depth < 4 && isObject(current); depth++) {
    if (current.name === 'TimeoutError') return { code: 'timeout', detail: 'TimeoutError' };
    const refused = proxyRefusal(current);
    if (refused !== null) return { code: 'proxy_error', detail: refused };
    const raw = typeof current.code === 'string' ? current.code : null;
    if (raw !== null) {
      const code =
        BY_CODE[raw] ??
        (TLS_CODE.test(raw) ? 'tls_error' : raw.startsWith('HPE_') ? 'unexpected_response' : null);
      if (code !== null) return { code, detail: raw };
    }
    const nested = Array.isArray(current.errors) ? (current.errors as unknown[])[0] : undefined;
    current = current.cause ?? nested;
  }
  return null;
}

/**
 * undici's ProxyAgent reports a proxy that refuses the CONNECT tunnel (403, 407, 502, …) as a
 * RequestAbortedError (`UND_ERR_ABORTED`, the code of a cancellation too) whose only mark is its
 * message: "Proxy response (403) !== 200 when HTTP Tunneling". That is the site's failure through
 * this proxy, not a cancellation, so it gets a catalog code instead of escaping as a bug (which made a
 * shared run's job fail and be retried). Returns the proxy's status as detail, else null.
 */
const TUNNEL_REFUSED = /^Proxy response \((\d{3})\) !== 200 when HTTP Tunneling$/;

function proxyRefusal(err: Record<string, unknown>): string | null {
  if (err.code !== 'UND_ERR_ABORTED' || typeof err.message !== 'string') return null;
  const match = TUNNEL_REFUSED.exec(err.message);
  return match === null ? null : `the proxy answered ${match[1]} to CONNECT`;
}

/**
 * Classifies a response. A 2xx must parse with the route's zod schema; otherwise a documented JSON
 * error whose code the catalog gives this very status wins (401 invalid_api_key, 400
 * invalid_secret_format, 404 no_publishable_key, 502 stripe_auth_failed, …); anything else falls back
 * to the status alone, so an HTML 404 from a proxy is `endpoint_not_found`, not a template's 404.
 */
export function classifyResponse<T>(
  status: number,
  body: string,
  schema: BodyCheck<T>,
  location?: string,
  dialect: ErrorDialect = 'keyfleet',
): Verdict<T> {
  const json = parseJsonObject(body);
  if (status >= 200 && status < 300) {
    if (json !== undefined) {
      const parsed = schema.safeParse(json);
      if (parsed.success) return { ok: true, value: parsed.data };
    }
    return {
      ok: false,
      code: 'unexpected_response',
      detail: json === undefined ? 'body is not JSON' : 'JSON is not the documented body',
    };
  }
  // Liberal in what we accept: `error` or `message` alone is an error body; other fields are ignored.
  const said = errorCodeOf(json);
  if (dialect === 'seed') {
    if (status === 401 || status === 403) return { ok: false, code: 'invalid_api_key', detail: said.text };
    if (status >= 500 && status !== 502 && status !== 503 && status !== 504)
      return { ok: false, code: 'server_error', detail: said.text };
  }
  if (said.code !== null) {
    const code = isErrorCode(said.code) ? said.code : SEED_ALIASES[said.code];
    if (code !== undefined && ERROR_CATALOG[code].status === status)
      return { ok: false, code, detail: said.message ?? said.code };
    return { ok: false, code: classifyStatus(status), detail: said.text };
  }
  const detail = status >= 300 && status < 400 && location ? `redirects to ${location}` : null;
  return { ok: false, code: classifyStatus(status), detail };
}

/** `error` (else `message`) of a JSON error body, and the text worth keeping for the operator. */
function errorCodeOf(json: unknown): { code: string | null; message: string | null; text: string | null } {
  if (!isObject(json)) return { code: null, message: null, text: null };
  const error = typeof json.error === 'string' ? json.error : null;
  const message = typeof json.message === 'string' ? json.message : null;
  const code = error ?? message;
  const text = error !== null && message !== null && message !== error ? `${error}: ${message}` : code;
  return { code, message, text };
}

/** The code of a non-2xx status whose body says nothing documented. */
export function classifyStatus(status: number): ErrorCode {
  switch (status) {
    case 404:
      return 'endpoint_not_found';
    case 429:
      return 'too_many_attempts';
    case 502:
      return 'bad_gateway';
    case 503:
      return 'service_unavailable';
    case 504:
      return 'gateway_timeout';
    default:
      // 3xx (undici does not follow redirects for us) and other 4xx: not the template answering.
      return status >= 500 ? 'server_error' : 'unexpected_response';
  }
}

function parseJsonObject(body: string): unknown {
  // Cheap pre-check: the contract's bodies are compact JSON objects, so an HTML page never pays for
  // a JSON.parse exception.
  if (body.charCodeAt(0) !== 0x7b /* { */) return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
