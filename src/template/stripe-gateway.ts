import Stripe from 'stripe';
import type { ErrorCode } from '../protocol/error-catalog.js';
import { maskKey, maskSecrets } from '../protocol/fingerprint.js';
import { isValidKey } from '../protocol/key-formats.js';

/**
 * The template site's only door to Stripe, over the official SDK. `apiBase` (STRIPE_API_BASE) points
 * it at another Stripe-compatible host, such as the fake in test/fake-stripe. Every failure becomes a
 * `StripeGatewayError` whose `code` is a catalog code and whose text has been masked: Stripe (or a
 * relay) can echo the key in an error, and these errors end up in logs and responses.
 *
 * @example
 *   const gateway = createStripeGateway({ apiBase: 'http://127.0.0.1:12345', timeoutMs: 5000 });
 *   const { livemode } = await gateway.testKey('sk_test_…'); // throws StripeGatewayError
 */
export interface StripeGatewayOptions {
  /** `http(s)://host[:port]`; unset means api.stripe.com. */
  apiBase?: string | undefined;
  /** Per attempt; the SDK retries once, so a call can take 2 × timeoutMs + 0.5 s backoff. */
  timeoutMs?: number | undefined;
}

export interface CheckoutRequest {
  domain: string;
  email: string;
  type: string;
  /** A Price set up in the Stripe dashboard; without it, `amountCents` is charged via price_data. */
  priceId?: string | undefined;
  amountCents?: number | undefined;
  currency: string;
  successUrl: string;
  cancelUrl: string;
}

export interface StripeGateway {
  /**
   * One read-only call proving the key works; reports the mode Stripe answered in. GET /v1/balance
   * rather than /v1/account: the balance carries `livemode`, and restricted keys usually may read it.
   */
  testKey(secret: string): Promise<{ livemode: boolean }>;
  createCheckoutSession(secret: string, request: CheckoutRequest): Promise<{ id: string; url: string }>;
}

export type StripeGatewayErrorCode = Extract<
  ErrorCode,
  'stripe_auth_failed' | 'stripe_unreachable' | 'stripe_error'
>;

/**
 * Carries only masked text and plain fields copied from the SDK's error. The SDK error itself is not
 * kept (no `cause`): it holds raw bodies and headers that nothing here has vetted.
 */
export class StripeGatewayError extends Error {
  constructor(
    readonly code: StripeGatewayErrorCode,
    message: string,
    /** HTTP status Stripe answered with; null when no answer arrived. */
    readonly statusCode: number | null = null,
    /** Stripe's own error code (`resource_missing`, `api_key_expired`, …). */
    readonly stripeCode: string | null = null,
    readonly param: string | null = null,
    readonly requestId: string | null = null,
  ) {
    super(message);
  }
}
// On the prototype, so the stack header captured in the constructor already reads StripeGatewayError.
StripeGatewayError.prototype.name = 'StripeGatewayError';

const DEFAULT_TIMEOUT_MS = 10_000;

type Endpoint = { host?: string; port?: number; protocol?: 'http' | 'https' };

/** host/port/protocol for the SDK; the SDK always requests `/v1/…` at the root, so no path is allowed. */
function endpointOf(apiBase: string | undefined): Endpoint {
  if (!apiBase) return {};
  const url = URL.canParse(apiBase) ? new URL(apiBase) : null;
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password) {
    throw new TypeError('STRIPE_API_BASE must look like https://host[:port]');
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new TypeError(
      'STRIPE_API_BASE must not have a path: the Stripe SDK always requests /v1/… at the root',
    );
  }
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const port = url.port ? Number(url.port) : protocol === 'http' ? 80 : 443;
  // URL keeps IPv6 literals bracketed; http.request wants the bare address.
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port, protocol };
}

/** Masks the exact secret (whatever its shape) and then anything else shaped like a secret. */
function scrub(text: string, secret: string): string {
  const exact = secret.length > 0 ? text.split(secret).join(maskKey(secret)) : text;
  return maskSecrets(exact);
}

function toGatewayError(err: unknown, secret: string): StripeGatewayError {
  if (err instanceof StripeGatewayError) return err;
  if (!(err instanceof Stripe.errors.StripeError)) {
    const text = err instanceof Error ? err.message : String(err);
    return new StripeGatewayError('stripe_error', scrub(`Stripe call failed: ${text}`, secret));
  }
  const clean = (v: unknown) => (typeof v === 'string' && v !== '' ? scrub(v, secret) : null);
  let code: StripeGatewayErrorCode = 'stripe_error';
  let message = err.message;
  if (
    err instanceof Stripe.errors.StripeAuthenticationError ||
    err instanceof Stripe.errors.StripePermissionError
  ) {
    code = 'stripe_auth_failed';
  } else if (err instanceof Stripe.errors.StripeConnectionError) {
    code = 'stripe_unreachable';
    // The network cause (ECONNREFUSED, ECONNRESET, ETIMEDOUT) is what an operator needs to act on.
    const cause = (err.detail as { code?: unknown } | undefined)?.code;
    if (typeof cause === 'string') message = `${message} (${cause})`;
  }
  return new StripeGatewayError(
    code,
    scrub(message || 'Stripe returned an error without a message', secret),
    err.statusCode ?? null,
    clean(err.code),
    clean(err.param),
    clean(err.requestId),
  );
}

export function createStripeGateway(options: StripeGatewayOptions = {}): StripeGateway {
  const endpoint = endpointOf(options.apiBase);
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  // A client per call costs ~0.1 ms and means no long-lived object (or map) holds any secret.
  const call = async <T>(secret: string, run: (stripe: Stripe) => Promise<T>): Promise<T> => {
    if (!isValidKey('secret_key', secret)) {
      // Stripe would refuse it anyway; refusing here keeps junk (newlines, spaces) out of a header.
      throw new StripeGatewayError(
        'stripe_auth_failed',
        'The stored secret is not a well-formed sk_/rk_ key',
      );
    }
    // Telemetry reports the previous request's latency, and a fresh client never has one.
    const stripe = new Stripe(secret, { ...endpoint, maxNetworkRetries: 1, timeout, telemetry: false });
    try {
      return await run(stripe);
    } catch (err) {
      throw toGatewayError(err, secret);
    }
  };

  return {
    testKey: (secret) =>
      call(secret, async (stripe) => {
        const balance = await stripe.balance.retrieve();
        return { livemode: balance.livemode };
      }),

    createCheckoutSession: async (secret, req) => {
      if (!req.priceId && req.amountCents === undefined) {
        throw new TypeError('createCheckoutSession needs priceId or amountCents');
      }
      return call(secret, async (stripe) => {
        const lineItem: Stripe.Checkout.SessionCreateParams.LineItem = req.priceId
          ? { price: req.priceId, quantity: 1 }
          : {
              price_data: {
                currency: req.currency,
                unit_amount: req.amountCents,
                product_data: { name: `Site launch (${req.type})` },
              },
              quantity: 1,
            };
        const session = await stripe.checkout.sessions.create({
          mode: 'payment',
          line_items: [lineItem],
          customer_email: req.email,
          metadata: { domain: req.domain, email: req.email, type: req.type },
          success_url: req.successUrl,
          cancel_url: req.cancelUrl,
        });
        if (!session.url) {
          throw new StripeGatewayError(
            'stripe_error',
            `Stripe returned Checkout Session ${session.id} without a url`,
          );
        }
        return { id: session.id, url: session.url };
      });
    },
  };
}
