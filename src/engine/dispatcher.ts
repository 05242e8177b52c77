import { rootCertificates } from 'node:tls';
import { Agent, Client, Dispatcher, EnvHttpProxyAgent } from 'undici';

/**
 * The undici dispatchers keyfleet sends through: one Client per origin, never a Pool (keyfleet's
 * requests to one site are sequential, and a Pool's request queue costs ~16 KB per site: 165 MB of
 * heap at 10,000 sites, measured by bench/push). A site client uses `createSiteDispatcher` (it can
 * close a site's connection when the site's work ends); `createDispatcher` is undici's Agent with
 * `connections: 1`, which drops a Client once its connection closes. When HTTP(S)_PROXY is set,
 * undici's EnvHttpProxyAgent wraps the same options (NO_PROXY honoured); without proxy variables
 * nothing pays for a per-request NO_PROXY check.
 */
export interface TransportOptions {
  /** Bounds connect (DNS and TLS handshake included), waiting for headers, and each body read. */
  readonly timeoutMs: number;
  /** Extra CA to trust on top of Node's bundled roots (tests, private PKI). */
  readonly ca?: string | Buffer | undefined;
  /** Where proxy variables are read from; process.env in production. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A response body larger than this is not a template's answer; reading stops there. */
  readonly maxResponseBytes: number;
}

/**
 * The dispatcher plus `release`: a site's work is over, close its connection now rather than when the
 * site's keep-alive (or undici's) runs out. A push then holds a socket only for the sites it is
 * working on, whatever the size of the fleet and whatever each site answered (an unchanged site's
 * only request is a read that could not know it was the last).
 */
export interface SiteDispatcher {
  readonly dispatcher: Dispatcher;
  /** Closes the connection to `origin` once its requests in flight are done; a later request reconnects. */
  release(origin: string): void;
}

export function createSiteDispatcher(options: TransportOptions): SiteDispatcher {
  if (proxyFromEnv(options.env) !== null) {
    // Through a proxy every site shares the proxy's connections: there is nothing per site to close.
    return { dispatcher: createDispatcher(options), release: () => undefined };
  }
  const dispatcher = new PerSiteDispatcher(commonOptions(options));
  return { dispatcher, release: (origin) => dispatcher.release(origin) };
}

/**
 * What undici's Agent does with `connections: 1` — one Client per origin, dropped when its connection
 * ends — plus `release(origin)`, which the Agent has no way to offer (its map of Clients is private).
 */
class PerSiteDispatcher extends Dispatcher {
  private readonly clients = new Map<string, Client>();

  constructor(private readonly options: Client.Options) {
    super();
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = String(opts.origin);
    let client = this.clients.get(origin);
    if (client === undefined) {
      const created = new Client(origin, this.options);
      // One connection per Client: once it is gone the Client is idle; a later request makes a new one.
      const drop = () => this.release(origin, created);
      created.on('disconnect', drop).on('connectionError', drop);
      this.clients.set(origin, created);
      client = created;
    }
    return client.dispatch(opts, handler);
  }

  release(origin: string, only?: Client): void {
    const client = this.clients.get(origin);
    if (client === undefined || (only !== undefined && client !== only)) return;
    this.clients.delete(origin);
    // close() lets a request in flight finish, then ends the connection.
    if (!client.closed && !client.destroyed) client.close().catch(() => undefined);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = this.settleAll((c) => c.close());
    if (callback === undefined) return done;
    void done.then(callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const done = this.settleAll((c) => c.destroy(err));
    if (callback === undefined) return done;
    void done.then(callback);
  }

  private async settleAll(end: (c: Client) => Promise<void>): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(all.map((c) => (c.closed || c.destroyed ? undefined : end(c))));
  }
}

export function createDispatcher(options: TransportOptions): Dispatcher {
  const proxy = proxyFromEnv(options.env);
  const common = commonOptions(options);
  if (proxy === null) return new Agent({ ...common, connections: 1 });
  return new EnvHttpProxyAgent({ ...common, ...proxy, requestTls: common.connect, proxyTls: common.connect });
}

function commonOptions(options: TransportOptions) {
  const tls = {
    timeout: options.timeoutMs,
    // Explicit, so NODE_TLS_REJECT_UNAUTHORIZED=0 in an operator's shell cannot switch verification off.
    rejectUnauthorized: true,
    // `ca` replaces the default roots, so the bundled ones are kept alongside the extra CA.
    ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca] }),
  };
  // Phase timeouts rather than a per-request AbortSignal: undici arms them on its own coarse timer
  // wheel, so a request allocates no controller, timer or listener of ours.
  return {
    connect: tls,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    maxResponseSize: options.maxResponseBytes,
  };
}

interface ProxySettings {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
}

/**
 * Proxy variables as curl and undici read them (lower case first). Values are passed explicitly, ''
 * meaning "none", so EnvHttpProxyAgent never falls back to a process.env the caller did not give us.
 * Like undici, https:// traffic uses HTTP_PROXY when HTTPS_PROXY is not set.
 */
export function proxyFromEnv(env: Readonly<Record<string, string | undefined>>): ProxySettings | null {
  const httpProxy = env.http_proxy || env.HTTP_PROXY || '';
  const httpsProxy = env.https_proxy || env.HTTPS_PROXY || httpProxy;
  if (httpProxy === '' && httpsProxy === '') return null;
  return { httpProxy, httpsProxy, noProxy: env.no_proxy || env.NO_PROXY || '' };
}
