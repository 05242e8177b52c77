import { randomBytes } from 'node:crypto';

/**
 * Stripe's response shapes, as the real API returns them, so the official SDK classifies the fake's
 * answers exactly as it would Stripe's (401 → StripeAuthenticationError, 400 → StripeInvalidRequestError,
 * 5xx → StripeAPIError). Key order follows Stripe's (alphabetical inside `error`).
 */
export type Livemode = boolean;

export type StripeErrorType = 'api_error' | 'invalid_request_error' | 'idempotency_error';

export interface StripeErrorFields {
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
}

export interface StripeErrorBody {
  error: {
    code?: string;
    doc_url?: string;
    message: string;
    param?: string;
    request_log_url?: string;
    type: StripeErrorType;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random [A-Za-z0-9]{n}, the alphabet of Stripe's object ids. */
export function randomId(n: number): string {
  return [...randomBytes(n)].map((b) => ALNUM[b % ALNUM.length]).join('');
}

export function requestId(): string {
  return `req_${randomId(14)}`;
}

/**
 * How Stripe itself echoes a key in an error: the first 8 characters, one `*` per hidden character,
 * the last 4 (`sk_test_****…abcd`). The raw key is never in the fake's answers unless a test asks.
 */
export function stripeMask(key: string): string {
  if (key.length <= 12) return '*'.repeat(key.length);
  return `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}`;
}

/** `{"error":{…}}` with `doc_url` derived from `code`, and `request_log_url` once the caller is known. */
export function errorBody(
  fields: StripeErrorFields,
  log?: { livemode: Livemode; requestId: string },
): StripeErrorBody {
  const { code, param } = fields;
  return {
    error: {
      ...(code ? { code, doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}` } : {}),
      message: fields.message,
      ...(param ? { param } : {}),
      ...(log
        ? {
            request_log_url: `https://dashboard.stripe.com/${log.livemode ? '' : 'test/'}logs/${log.requestId}?t=${unixNow()}`,
          }
        : {}),
      type: fields.type,
    },
  };
}

export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

// --- the messages Stripe answers with ----------------------------------------------------------

export const MESSAGES = {
  noKey:
    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
  invalidKey: (shown: string) => `Invalid API Key provided: ${shown}`,
  expiredKey: (shown: string) => `Expired API Key provided: ${shown}. Platform access may have been revoked.`,
  serverError:
    "Sorry, something went wrong. We've already been notified of the problem, but if you need any help, you can reach us at support.stripe.com/contact.",
  unrecognizedUrl: (method: string, path: string) =>
    `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
  missingParam: (param: string) => `Missing required param: ${param}.`,
  emptyParam: (param: string) =>
    `You passed an empty string for '${param}'. We assume empty values are an attempt to unset a parameter; however '${param}' cannot be unset. You should remove '${param}' from your request or supply a non-empty value.`,
} as const;

// --- objects -----------------------------------------------------------------------------------

/** GET /v1/balance: one currency, nothing available; what matters to callers is `livemode`. */
export function balanceObject(livemode: Livemode) {
  const zero = [{ amount: 0, currency: 'usd', source_types: { card: 0 } }];
  return { object: 'balance', available: zero, livemode, pending: zero };
}

export interface CheckoutSessionFields {
  livemode: Livemode;
  mode: string;
  currency: string | null;
  amountTotal: number | null;
  successUrl: string;
  cancelUrl: string | null;
  customerEmail: string | null;
  metadata: Record<string, string>;
}

/** The hosted Checkout Session Stripe returns from POST /v1/checkout/sessions (the fields callers read). */
export function checkoutSessionObject(f: CheckoutSessionFields) {
  const id = `cs_${f.livemode ? 'live' : 'test'}_a1${randomId(56)}`;
  const created = unixNow();
  return {
    id,
    object: 'checkout.session',
    amount_subtotal: f.amountTotal,
    amount_total: f.amountTotal,
    cancel_url: f.cancelUrl,
    client_reference_id: null,
    created,
    currency: f.currency,
    customer: null,
    customer_email: f.customerEmail,
    expires_at: created + 24 * 3600,
    livemode: f.livemode,
    metadata: f.metadata,
    mode: f.mode,
    payment_intent: null,
    payment_method_types: ['card'],
    payment_status: 'unpaid',
    status: 'open',
    success_url: f.successUrl,
    ui_mode: 'hosted',
    url: `https://checkout.stripe.com/c/pay/${id}`,
  };
}

export type CheckoutSessionObject = ReturnType<typeof checkoutSessionObject>;
