import { ERROR_CATALOG, type ErrorCode } from '../protocol/error-catalog.js';
import { maskKey, maskSecrets } from '../protocol/fingerprint.js';

/**
 * A request to one site failed, classified with exactly one catalog code (DESIGN.md §2). Callers
 * branch on `code`, never on `message`. The message and the JSON form never hold a secret: every
 * value the request carried (API key, pushed secret, new key) is replaced by its masked form, and
 * anything else shaped like a secret goes through `maskSecrets`, including text relayed from the site.
 *
 * @example
 * try { await client.putSetting(url, 'stripe_secret_key', sk, apiKey) }
 * catch (e) { if (e instanceof SiteError && e.code === 'invalid_api_key') … e.hint … }
 */
export interface SiteErrorInit {
  code: ErrorCode;
  /** The URL requested (origin and path; never userinfo or a query). */
  url: string;
  httpStatus?: number | null;
  /** What the site or the socket said, e.g. the JSON error's message or `CERT_HAS_EXPIRED`. */
  detail?: string | null;
  attempts?: number;
  durationMs?: number;
  /** `Retry-After` the site asked for on the last attempt, in ms. */
  retryAfterMs?: number | null;
  /** Values sent with the request that must not appear in the message. */
  secrets?: readonly string[];
  cause?: unknown;
}

/** The `error` object of a push/verify report entry (DESIGN.md §2 `--json`). */
export interface SiteErrorJson {
  code: ErrorCode;
  http_status: number | null;
  message: string;
  hint: string;
}

/** Longest site-supplied text kept in a message: enough to diagnose, too short to dump a page. */
const MAX_DETAIL = 200;

export class SiteError extends Error {
  override readonly name = 'SiteError';
  readonly code: ErrorCode;
  readonly httpStatus: number | null;
  readonly hint: string;
  readonly url: string;
  readonly retryAfterMs: number | null;
  /** HTTP attempts made, retries included. */
  readonly attempts: number;
  /** From the first attempt's start to the last one's end, backoff included. */
  readonly durationMs: number;

  constructor(init: SiteErrorInit) {
    const entry = ERROR_CATALOG[init.code];
    const status = init.httpStatus ?? null;
    const where = status === null ? init.url : `${init.url}, HTTP ${status}`;
    const secrets = init.secrets ?? [];
    // Redact before truncating: a cut could leave half a secret that no longer matches in full.
    // A template's own error message repeats the catalog's: say it once.
    const detail =
      init.detail && init.detail !== entry.message ? `: ${truncate(redact(init.detail, secrets))}` : '';
    const message = redact(`${entry.message} (${where})${detail}`, secrets);
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.httpStatus = status;
    this.hint = entry.hint;
    this.url = redact(init.url, secrets);
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.attempts = init.attempts ?? 1;
    this.durationMs = init.durationMs ?? 0;
  }

  toJSON(): SiteErrorJson {
    return { code: this.code, http_status: this.httpStatus, message: this.message, hint: this.hint };
  }
}

/**
 * Replaces every occurrence of each secret by its masked form, then masks anything secret-shaped.
 * Secrets shorter than 4 characters are not searched for: they would mask ordinary words and such a
 * key is refused long before a request is made.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join(maskKey(secret));
  }
  return maskSecrets(out);
}

function truncate(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_DETAIL ? `${oneLine.slice(0, MAX_DETAIL)}…` : oneLine;
}
