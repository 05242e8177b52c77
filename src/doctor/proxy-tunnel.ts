import { request } from 'node:http';
import type { Socket } from 'node:net';
import { bareHost } from './socket-address.js';
import { proxyOrigin } from './proxy-route.js';

/**
 * A CONNECT tunnel through an http:// proxy to `host:port` — what `openssl s_client -proxy` or
 * `curl -x` open before their TLS handshake, and what undici's ProxyAgent opens for the transport.
 * The TLS check runs its handshake inside it, so a proxied site is checked on the path its requests
 * take. Credentials in the proxy URL are sent as Proxy-Authorization and never shown.
 *
 * @example const socket = await openTunnel(new URL('http://127.0.0.1:3128'), 'shop.example.fr', 443, 8000);
 */
export class TunnelError extends Error {
  constructor(
    message: string,
    /** The proxy's HTTP status, or null when it could not be reached at all. */
    readonly status: number | null,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

export function openTunnel(proxy: URL, host: string, port: number, timeoutMs: number): Promise<Socket> {
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const headers: Record<string, string> = { host: authority };
  if (proxy.username !== '') {
    const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(user, 'utf8').toString('base64')}`;
  }
  return new Promise((resolve, reject) => {
    const req = request({
      host: bareHost(proxy.hostname),
      port: Number(proxy.port) || 80,
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(
        new TunnelError(
          `the proxy ${proxyOrigin(proxy)} did not open ${authority} within ${timeoutMs} ms`,
          null,
          true,
        ),
      );
    }, timeoutMs);
    req.once('connect', (res, socket) => {
      clearTimeout(timer);
      if (res.statusCode === 200) {
        resolve(socket);
        return;
      }
      socket.destroy();
      reject(
        new TunnelError(
          `the proxy ${proxyOrigin(proxy)} answered ${res.statusCode ?? '?'} to CONNECT ${authority}`,
          res.statusCode ?? null,
        ),
      );
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new TunnelError(`the proxy ${proxyOrigin(proxy)} failed: ${err.code ?? err.message}`, null));
    });
    req.end();
  });
}
