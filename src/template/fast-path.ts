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
  /**
   * Where the body comes from (the settings cache); set by the plugin. With `fresh`, each answer
   * waits for it (read-after-write: the cache checked against the database's generation).
   */
  setSource(body: () => string | null, fresh?: () => Promise<string | null>): void;
  /** Called once the app is ready, with the route's own headers; until then everything falls through. */
  enable(headers: OutgoingHttpHeaders): void;
  /** Requests answered here since the last call (folded into the metrics at scrape time). */
  takeCount(): number;
}

const PER_RESPONSE = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding']);

export function createFastPath(): FastPath {
  let headers: OutgoingHttpHeaders | null = null;
  let body: (() => string | null) | null = null;
  let freshBody: (() => Promise<string | null>) | null = null;
  let lastBody = '';
  let lastHeaders: OutgoingHttpHeaders = {};
  let count = 0;

  const send = (current: string | null, res: ServerResponse): boolean => {
    if (current === null || headers === null) return false;
    if (current !== lastBody) {
      lastBody = current;
      lastHeaders = { ...headers, 'content-length': Buffer.byteLength(current) };
    }
    count++;
    res.writeHead(200, lastHeaders);
    res.end(current);
    return true;
  };

  return {
    listener(next) {
      return (req: IncomingMessage, res: ServerResponse) => {
        if (headers !== null && body !== null && req.url === ROUTES.stripePk && req.method === 'GET') {
          if (freshBody === null) {
            if (send(body(), res)) return;
          } else {
            // The Fastify route would wait for the same check: fall through only when there is no key.
            freshBody().then(
              (current) => {
                if (!send(current, res)) next(req, res);
              },
              () => next(req, res),
            );
            return;
          }
        }
        next(req, res);
      };
    },
    setSource(source, fresh) {
      body = source;
      freshBody = fresh ?? null;
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
