import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fingerprint, last4 } from '../../src/protocol/fingerprint.js';
import { validateCheckout, type KnownPrice } from './checkout-validation.js';
import { parseForm, type FormObject } from './form.js';
import {
  balanceObject,
  checkoutSessionObject,
  errorBody,
  MESSAGES,
  requestId as newRequestId,
  stripeMask,
  type CheckoutSessionObject,
} from './stripe-shapes.js';

/**
 * A Stripe-compatible HTTP server for tests, for the endpoints a template site calls:
 * `GET /v1/balance` (the read-only key check behind POST /api/test-stripe) and
 * `POST /v1/checkout/sessions`. Point the official SDK at it with `STRIPE_API_BASE=fake.url`.
 *
 * @example
 *   const fake = await startFakeStripe({ prices: { price_launch: { unit_amount: 4900, currency: 'eur' } } });
 *   fake.setMode('hang');            // every request now waits until the client gives up
 *   await fake.close();
 */
export type FakeStripeMode = 'ok' | 'error500' | 'hang' | 'close';

export interface FakeStripeOptions {
  /** Only these keys authenticate; by default any well-formed sk_/rk_ (test|live) key does. */
  keys?: Iterable<string>;
  /** Keys answered with 401 `api_key_expired`, as after a roll in the Dashboard. */
  revoked?: Iterable<string>;
  /** Price ids that exist; any other `price` is 400 `resource_missing`. */
  prices?: Record<string, KnownPrice>;
  /** Echo the full key in 401 messages, like a relay that does not mask: to test our own masking. */
  echoKeyInErrors?: boolean;
}

/** What a request carried. The key is kept only as fingerprint and last4, never the header value. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  form: FormObject;
  keyFingerprint: string | null;
  keyLast4: string | null;
  idempotencyKey: string | null;
  stripeVersion: string | null;
}

export interface FakeStripe {
  /** `http://127.0.0.1:<port>`, the value for STRIPE_API_BASE. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Checkout Sessions created so far, as returned to the caller. */
  readonly sessions: CheckoutSessionObject[];
  /** Fault switch; with `times`, only the next `times` requests misbehave, then it is 'ok' again. */
  setMode(mode: FakeStripeMode, times?: number): void;
  revoke(key: string): void;
  /** Resolves once `count` requests in all have arrived (hang tests await this instead of sleeping). */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

const KEY_SHAPE = /^(?:sk|rk)_(test|live)_[A-Za-z0-9]+$/;
const MAX_BODY = 1024 * 1024;

/** The key from `Authorization: Bearer <key>` or Basic `<key>:` (Stripe accepts both). */
function keyOf(req: IncomingMessage): string | null {
  const header = req.headers.authorization ?? '';
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme?.toLowerCase() === 'bearer') return value || null;
  if (scheme?.toLowerCase() === 'basic')
    return Buffer.from(value, 'base64').toString('utf8').split(':')[0] || null;
  return null;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  // Keys are held as fingerprints too: the fake itself has nothing to leak.
  const allowed = options.keys ? new Set([...options.keys].map(fingerprint)) : null;
  const revoked = new Set([...(options.revoked ?? [])].map(fingerprint));
  const prices = new Map(Object.entries(options.prices ?? {}));
  const requests: RecordedRequest[] = [];
  const sessions: CheckoutSessionObject[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let mode: FakeStripeMode = 'ok';
  let remaining = Infinity;

  const send = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'request-id': extra['request-id'] ?? newRequestId(),
      ...extra,
    });
    res.end(text);
  };

  const record = (req: IncomingMessage, url: URL, form: FormObject, key: string | null) => {
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : null;
    };
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      form,
      keyFingerprint: key === null ? null : fingerprint(key),
      keyLast4: key === null ? null : last4(key),
      idempotencyKey: header('idempotency-key'),
      stripeVersion: header('stripe-version'),
    });
    for (const w of waiters.filter((w) => requests.length >= w.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };

  const currentFault = (): FakeStripeMode => {
    if (mode === 'ok' || remaining <= 0) return 'ok';
    remaining -= 1;
    return mode;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake-stripe');
    const body = await readBody(req);
    const form = parseForm(req.method === 'GET' ? url.search.slice(1) : body);
    const key = keyOf(req);
    record(req, url, form, key);

    const fault = currentFault();
    if (fault === 'hang') return; // the socket stays open until the client times out or close()
    if (fault === 'close') return void req.socket.destroy();
    if (fault === 'error500') {
      return send(res, 500, errorBody({ type: 'api_error', message: MESSAGES.serverError }));
    }

    const rid = newRequestId();
    const headers = {
      'request-id': rid,
      'stripe-version': req.headers['stripe-version']?.toString() ?? '2025-01-01',
    };
    const unauthorized = (fields: Parameters<typeof errorBody>[0]) =>
      send(res, 401, errorBody(fields), { ...headers, 'www-authenticate': 'Basic realm="Stripe"' });
    if (key === null) return unauthorized({ type: 'invalid_request_error', message: MESSAGES.noKey });
    const shown = options.echoKeyInErrors ? key : stripeMask(key);
    const shape = KEY_SHAPE.exec(key);
    if (!shape || (allowed && !allowed.has(fingerprint(key)))) {
      return unauthorized({ type: 'invalid_request_error', message: MESSAGES.invalidKey(shown) });
    }
    if (revoked.has(fingerprint(key))) {
      const message = MESSAGES.expiredKey(shown);
      return unauthorized({ type: 'invalid_request_error', code: 'api_key_expired', message });
    }
    const livemode = shape[1] === 'live';

    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /v1/balance') return send(res, 200, balanceObject(livemode), headers);
    if (route === 'POST /v1/checkout/sessions') {
      const result = validateCheckout(form, prices);
      if (!result.ok) return send(res, 400, errorBody(result.error, { livemode, requestId: rid }), headers);
      const session = checkoutSessionObject({ livemode, ...result.value });
      sessions.push(session);
      return send(res, 200, session, headers);
    }
    const message = MESSAGES.unrecognizedUrl(req.method ?? '', url.pathname);
    return send(res, 404, errorBody({ type: 'invalid_request_error', message }), headers);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, errorBody({ type: 'api_error', message: MESSAGES.serverError }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    sessions,
    setMode(next, times = Infinity) {
      mode = next;
      remaining = times;
    },
    revoke(key) {
      revoked.add(fingerprint(key));
    },
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets from the SDK's agent and hung requests would otherwise hold close() open.
        server.closeAllConnections();
      });
    },
  };
}
