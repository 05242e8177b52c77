import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';

/**
 * A tiny forward proxy on 127.0.0.1 that counts what goes through it: CONNECT tunnels (what undici's
 * ProxyAgent opens for https:// and, by default, http:// targets) and absolute-form plain requests.
 * It only forwards to 127.0.0.1, so a misconfigured test can never reach out of the machine.
 */
export interface CountingProxy {
  /** `http://127.0.0.1:<port>`, for HTTP_PROXY / HTTPS_PROXY. */
  readonly url: string;
  /** `host:port` of every CONNECT received. */
  readonly connects: readonly string[];
  /** Absolute URL of every plain proxied request. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';

export async function startCountingProxy(): Promise<CountingProxy> {
  const connects: string[] = [];
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // A tunnel torn down by either side is normal here; an unhandled 'error' would crash the worker.
    socket.on('error', () => undefined);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? '');
    const target = new URL(req.url ?? '', 'http://invalid');
    if (target.hostname !== LOOPBACK) {
      res.writeHead(403).end();
      return;
    }
    const upstream = httpRequest(
      {
        host: LOOPBACK,
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', track);
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    connects.push(target);
    const [host, port] = target.split(':');
    if (host !== LOOPBACK || port === undefined) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(Number(port), LOOPBACK, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => client.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  server.unref();
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');

  return {
    url: `http://${LOOPBACK}:${address.port}`,
    connects,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
