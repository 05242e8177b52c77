import { rootCertificates } from 'node:tls';
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';

/**
 * The one undici dispatcher a site client sends through. A single Agent is enough: it keeps one
 * dispatcher per origin and drops it once its last connection closes. `connections: 1` makes that a
 * single Client rather than a Pool: keyfleet's requests to one site are sequential, and a Pool's
 * request queue costs ~16 KB per site (165 MB of heap at 10,000 sites, measured by bench/push).
 * When HTTP(S)_PROXY is set, undici's EnvHttpProxyAgent wraps the same options (NO_PROXY honoured);
 * without proxy variables the plain Agent skips its per-request NO_PROXY check.
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

export function createDispatcher(options: TransportOptions): Dispatcher {
  const tls = {
    timeout: options.timeoutMs,
    // Explicit, so NODE_TLS_REJECT_UNAUTHORIZED=0 in an operator's shell cannot switch verification off.
    rejectUnauthorized: true,
    // `ca` replaces the default roots, so the bundled ones are kept alongside the extra CA.
    ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca] }),
  };
  // Phase timeouts rather than a per-request AbortSignal: undici arms them on its own coarse timer
  // wheel, so a request allocates no controller, timer or listener of ours.
  const common = {
    connect: tls,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    maxResponseSize: options.maxResponseBytes,
  };
  const proxy = proxyFromEnv(options.env);
  if (proxy === null) return new Agent({ ...common, connections: 1 });
  return new EnvHttpProxyAgent({ ...common, ...proxy, requestTls: tls, proxyTls: tls });
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
