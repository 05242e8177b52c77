import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/**
 * A real node:http(s) server on 127.0.0.1, port 0, that records what it was sent. Every fault of the
 * fleet is one of these with a handler that misbehaves on purpose. Bounded: request bodies are capped,
 * the server is unref'd so a forgotten one cannot hold the test process, and `close()` destroys every
 * socket, including those a "never answers" handler is sitting on.
 */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type FaultHandler = (req: IncomingMessage, res: ServerResponse, ctx: HandlerContext) => void;

export interface HandlerContext {
  /** Request body as text (bodies are capped at 64 KiB). */
  body: string;
  /** 1-based number of this request on this server. */
  call: number;
}

export interface FaultServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  /** Requests received so far. */
  readonly calls: number;
  readonly requests: readonly RecordedRequest[];
  /** Requests being handled now, and the most at once (what the in-flight tests measure). */
  readonly active: number;
  readonly peakActive: number;
  close(): Promise<void>;
}

export interface ServerOptions {
  tls?: { cert: string; key: string };
  /** Host name in `url` (default 127.0.0.1; the socket still binds 127.0.0.1). */
  host?: string;
}

const MAX_BODY = 64 * 1024;
/** Recorded requests kept per server: enough for assertions, bounded under a 500-request test. */
const MAX_RECORDED = 1000;

export async function startServer(handler: FaultHandler, options: ServerOptions = {}): Promise<FaultServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let calls = 0;
  let active = 0;
  let peakActive = 0;

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const call = ++calls;
    active += 1;
    peakActive = Math.max(peakActive, active);
    // 'close' fires for answered, reset and abandoned requests alike.
    res.once('close', () => (active -= 1));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (requests.length < MAX_RECORDED)
        requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, { body, call });
    });
  };

  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest)
    : createHttpServer(onRequest);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A client that fails the TLS handshake is the point of some faults, not an error of the server.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const { port } = address;
  const url = `${options.tls ? 'https' : 'http'}://${options.host ?? '127.0.0.1'}:${port}`;

  return {
    url,
    port,
    get calls() {
      return calls;
    },
    requests,
    get active() {
      return active;
    },
    get peakActive() {
      return peakActive;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port that was bound and released, so nothing listens there: connecting is refused. */
export async function refusedPort(): Promise<number> {
  const server = await startServer(() => undefined);
  await server.close();
  return server.port;
}

/** Sends a body with an explicit length and closes nothing: keep-alive stays usable. */
export function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  const type = body.startsWith('{') ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8';
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
