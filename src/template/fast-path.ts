import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from 'node:http';
import { ROUTES } from '../protocol/routes.js';

/**
 * The hot path, GET /api/stripe-pk, answered in front of Fastify's router: every browser of every
 * site asks for it, and it is one pre-serialized string. The answer is byte-for-byte what the
 * Fastify route sends (same body from the same cache, same headers captured from that route);
 * anything else — no key yet, a query string, HEAD — falls through to Fastify.
 */
export interface FastPath {
  listener(next: RequestListener): RequestListener;
  /** Where the body comes from (the settings cache); set by the plugin. */
  setSource(body: () => string | null): void;
  /** Called once the app is ready, with the route's own headers; until then everything falls through. */
  enable(headers: OutgoingHttpHeaders): void;
  /** Requests answered here since the last call (folded into the metrics at scrape time). */
  takeCount(): number;
}

const PER_RESPONSE = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding']);

export function createFastPath(): FastPath {
  let headers: OutgoingHttpHeaders | null = null;
  let body: (() => string | null) | null = null;
  let lastBody = '';
  let lastHeaders: OutgoingHttpHeaders = {};
  let count = 0;

  return {
    listener(next) {
      return (req: IncomingMessage, res: ServerResponse) => {
        if (headers !== null && body !== null && req.url === ROUTES.stripePk && req.method === 'GET') {
          const current = body();
          if (current !== null) {
            if (current !== lastBody) {
              lastBody = current;
              lastHeaders = { ...headers, 'content-length': Buffer.byteLength(current) };
            }
            count++;
            res.writeHead(200, lastHeaders);
            res.end(current);
            return;
          }
        }
        next(req, res);
      };
    },
    setSource(source) {
      body = source;
    },
    enable(routeHeaders) {
      headers = Object.fromEntries(Object.entries(routeHeaders).filter(([k]) => !PER_RESPONSE.has(k.toLowerCase())));
    },
    takeCount() {
      const n = count;
      count = 0;
      return n;
    },
  };
}
