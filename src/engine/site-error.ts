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
 * Replaces every occurrence of each secret by its masked form — also its encoded copies (base64 at
 * any alignment, base64url, hex, URL-encoding: a site echoing the key encoded must not get it into
 * reports and the state database, issue 12) — then any base64, hex or percent-encoded token that
 * decodes to something secret-shaped, then anything secret-shaped. Secrets shorter than 4
 * characters are not searched for: they would mask ordinary words and such a key is refused long
 * before a request is made.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    if (out.includes(secret)) out = out.split(secret).join(maskKey(secret));
    for (const form of encodedForms(secret))
      if (out.includes(form)) out = out.split(form).join(`[encoded ${maskKey(secret)}]`);
  }
  return maskSecrets(maskEncodedSecrets(out));
}

/** The ways a site may echo `secret` encoded; base64 forms only where at least 16 characters are stable. */
export function encodedForms(secret: string): string[] {
  const buf = Buffer.from(secret, 'utf8');
  const hex = buf.toString('hex');
  const forms = new Set<string>([hex, hex.toUpperCase()]);
  const uri = encodeURIComponent(secret);
  if (uri !== secret) forms.add(uri);
  forms.add(hex.replace(/../g, '%$&'));
  forms.add(hex.toUpperCase().replace(/../g, '%$&'));
  for (const k of [0, 1, 2]) {
    // k bytes before the secret shift its encoding; the groups made of secret bytes only are stable.
    const b64 = Buffer.concat([Buffer.alloc(k), buf]).toString('base64');
    const core = b64.slice(k === 0 ? 0 : 4, Math.floor((k + buf.length) / 3) * 4);
    if (core.length < 16) continue;
    forms.add(core);
    forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...forms];
}

const SECRET_INSIDE = /(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{8,}|whsec_[A-Za-z0-9]{8,}/;
const BASE64_TOKEN = /[A-Za-z0-9+/_-]{20,}={0,2}/g;
const HEX_TOKEN = /\b(?:[0-9a-fA-F]{2}){14,}\b/g;
const PERCENT_TOKEN = /(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~-])*%[0-9A-Fa-f]{2}(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~-])*/g;
const ENCODED = '[encoded secret]';

/** Tokens that decode to a key the request did not carry (an older key, another site's). */
function maskEncodedSecrets(text: string): string {
  const hides = (decoded: string) => SECRET_INSIDE.test(decoded);
  return text
    .replace(PERCENT_TOKEN, (t) => {
      try {
        return hides(decodeURIComponent(t)) ? ENCODED : t;
      } catch {
        return t;
      }
    })
    .replace(HEX_TOKEN, (t) => (hides(Buffer.from(t, 'hex').toString('latin1')) ? ENCODED : t))
    .replace(BASE64_TOKEN, (t) => {
      const b = t.replace(/-/g, '+').replace(/_/g, '/');
      // Every alignment: the token may start in the middle of an encoded blob.
      for (const skip of [0, 1, 2, 3]) {
        const body = b.slice(skip);
        if (hides(Buffer.from(body.slice(0, body.length - (body.length % 4)), 'base64').toString('latin1')))
          return ENCODED;
      }
      return t;
    });
}

function truncate(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_DETAIL ? `${oneLine.slice(0, MAX_DETAIL)}…` : oneLine;
}
