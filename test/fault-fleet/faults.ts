import { API_KEY_HEADER } from '../../src/protocol/routes.js';
import { createFakeSite, errorBody, type FakeSiteOptions, type FakeSiteState } from './fake-site.js';
import { send, startServer, type FaultHandler, type FaultServer, type ServerOptions } from './server.js';

/**
 * One server factory per misbehaviour. Each fault is the failure an operator meets in the
 * troubleshooting guide, produced for real on a loopback socket so the site client's classification
 * is tested against what undici and Node actually throw, not against mocks.
 */
const HTML_PAGE = (title: string) =>
  `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`;

export type FaultName =
  | 'timeout'
  | 'reset'
  | 'hangup'
  | 'unauthorized'
  | 'badSecret'
  | 'notFoundHtml'
  | 'badGatewayHtml'
  | 'gatewayTimeoutHtml'
  | 'serverErrorHtml'
  | 'alwaysUnavailable'
  | 'unavailableThenOk'
  | 'rateLimitedThenOk'
  | 'notJson'
  | 'html200'
  | 'redirect'
  | 'leaky';

export interface FaultOptions extends FakeSiteOptions {
  /** For the "…ThenOk" faults: how many calls fail before the site recovers (default 1). */
  failures?: number;
  /** Retry-After sent by rateLimitedThenOk (default '1'). */
  retryAfter?: string;
}

function handlerFor(name: FaultName, options: FaultOptions): FaultHandler {
  const site = createFakeSite(options).handler;
  const failures = options.failures ?? 1;
  switch (name) {
    case 'timeout':
      // Never answers; the socket is destroyed when the server closes.
      return () => undefined;
    case 'reset':
      // RST: the client sees ECONNRESET.
      return (req) => req.socket.resetAndDestroy();
    case 'hangup':
      // FIN without a response: undici reports "other side closed" (UND_ERR_SOCKET).
      return (req) => req.socket.destroy();
    case 'unauthorized':
      return (_req, res) => send(res, 401, errorBody('invalid_api_key'));
    case 'badSecret':
      return (_req, res) => send(res, 400, errorBody('invalid_secret_format'));
    case 'notFoundHtml':
      return (_req, res) => send(res, 404, HTML_PAGE('404 Not Found'));
    case 'badGatewayHtml':
      return (_req, res) => send(res, 502, HTML_PAGE('502 Bad Gateway'));
    case 'gatewayTimeoutHtml':
      return (_req, res) => send(res, 504, HTML_PAGE('504 Gateway Time-out'));
    case 'serverErrorHtml':
      return (_req, res) => send(res, 500, HTML_PAGE('Internal Server Error'));
    case 'alwaysUnavailable':
      return (_req, res) => send(res, 503, HTML_PAGE('503 Service Unavailable'));
    case 'unavailableThenOk':
      return (req, res, ctx) =>
        ctx.call <= failures ? send(res, 503, HTML_PAGE('503 Service Unavailable')) : site(req, res, ctx);
    case 'rateLimitedThenOk':
      return (req, res, ctx) =>
        ctx.call <= failures
          ? send(res, 429, errorBody('too_many_attempts'), { 'retry-after': options.retryAfter ?? '1' })
          : site(req, res, ctx);
    case 'notJson':
      return (_req, res) => send(res, 200, 'OK, saved', { 'content-type': 'text/plain' });
    case 'html200':
      return (_req, res) => send(res, 200, HTML_PAGE('Welcome to nginx!'));
    case 'redirect':
      return (_req, res) =>
        send(res, 301, HTML_PAGE('Moved'), { location: 'https://moved.example.invalid/' });
    case 'leaky':
      // Echoes everything it was sent into its error message: the client must mask all of it.
      return (req, res, ctx) =>
        send(
          res,
          400,
          JSON.stringify({
            success: false,
            error: 'invalid_secret_format',
            message: `rejected key ${String(req.headers[API_KEY_HEADER])} with body ${ctx.body}`,
          }),
        );
  }
}

/** Starts one misbehaving site. */
export function startFault(
  name: FaultName,
  options: FaultOptions = {},
  server: ServerOptions = {},
): Promise<FaultServer> {
  return startServer(handlerFor(name, options), server);
}

export interface FakeSiteServer extends FaultServer {
  readonly state: FakeSiteState;
}

/**
 * Starts a well-behaved site (optionally over TLS, optionally `stale`, optionally slow: each answer
 * waits `delayMs`, the in-flight tests' "slow server").
 */
export async function startFakeSite(
  options: FakeSiteOptions & { delayMs?: number } = {},
  server: ServerOptions = {},
): Promise<FakeSiteServer> {
  const { state, handler } = createFakeSite(options);
  const delayMs = options.delayMs ?? 0;
  const timed: FaultHandler =
    delayMs > 0 ? (req, res, ctx) => void setTimeout(() => handler(req, res, ctx), delayMs).unref() : handler;
  const running = await startServer(timed, server);
  return Object.assign(running, { state });
}
