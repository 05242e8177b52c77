import { isIP, type Socket } from 'node:net';
import { connect, rootCertificates, type PeerCertificate, type TLSSocket } from 'node:tls';
import { classifyError } from '../engine/classify.js';
import {
  fail,
  pass,
  plural,
  skip,
  warn,
  type DoctorContext,
  type SiteRun,
  type StepOutcome,
} from './check.js';
import { bareHost, portOf } from './socket-address.js';
import { openTunnel, TunnelError } from './proxy-tunnel.js';
import { proxyOrigin } from './proxy-route.js';

/**
 * Check 4, TLS: the guide's `openssl s_client -connect host:443 -servername host` and
 * `openssl x509 -noout -dates`. One handshake that verifies nothing by itself, so that an expired or
 * untrusted certificate can still be read and explained; the verdict is then Node's own chain and
 * host-name check (the same one the transport enforces), against the same roots: Node's defaults
 * (NODE_EXTRA_CA_CERTS included), or the bundled roots plus `--ca-file`, exactly as dispatcher.ts.
 * Expired is a failure, under 14 days a warning. Through an http:// proxy the handshake runs inside
 * a CONNECT tunnel, as the transport's does.
 */
const WARN_DAYS = 14;
const DAY_MS = 86_400_000;

const REASONS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a self-signed CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the issuer is not trusted (unknown CA or missing intermediate)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the issuer is not trusted (unknown CA or missing intermediate)',
  UNABLE_TO_GET_ISSUER_CERT: 'the issuer certificate is missing from the chain',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet (check the clock)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate is for another host name',
};

export async function checkTls(site: SiteRun, ctx: DoctorContext): Promise<StepOutcome> {
  const url = site.url as URL;
  if (url.protocol === 'http:') return skip('http');
  const proxy = site.route?.proxy ?? null;
  if (proxy !== null && proxy.protocol === 'https:') {
    return skip(`through the https:// proxy ${proxyOrigin(proxy)}: the HTTP checks test that path`);
  }
  const host = bareHost(url.hostname);
  const port = portOf(url);
  return ctx.http.limit.run(async () => {
    let tunnel: Socket | undefined;
    if (proxy !== null) {
      try {
        tunnel = await openTunnel(proxy, host, port, ctx.timeoutMs);
      } catch (err) {
        if (!(err instanceof TunnelError)) throw err;
        return fail(err.timedOut ? 'timeout' : 'proxy_error', err.message);
      }
    }
    const via = proxy === null ? '' : ` (through ${proxyOrigin(proxy)})`;
    const result = await handshake(
      ctx,
      host,
      port,
      tunnel === undefined ? (site.reached ?? host) : host,
      tunnel,
    );
    if ('failure' in result) return result.failure;
    return judge(result, host, via);
  });
}

interface Peer {
  cert: PeerCertificate;
  authorized: boolean;
  /** Node's verification code (CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, …), '' when authorized. */
  reason: string;
  protocol: string | null;
}
type Handshake = Peer | { failure: StepOutcome };

function handshake(
  ctx: DoctorContext,
  host: string,
  port: number,
  address: string,
  tunnel: Socket | undefined,
): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({
      ...(tunnel === undefined ? { host: address, port } : { socket: tunnel, host }),
      // SNI is for names only; for an IP address Node checks the certificate against `host`.
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(ctx.ca === undefined ? {} : { ca: [...rootCertificates, ctx.ca] }),
      rejectUnauthorized: false,
    });
    const done = (result: Handshake) => {
      clearTimeout(timer);
      socket.destroy();
      tunnel?.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => done({ failure: fail('timeout', `no TLS handshake within ${ctx.timeoutMs} ms`) }),
      ctx.timeoutMs,
    );
    socket.once('secureConnect', () => done(peerOf(socket)));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const code = classifyError(err)?.code ?? 'tls_error';
      done({ failure: fail(code, `handshake failed: ${err.code ?? err.message}`) });
    });
  });
}

function peerOf(socket: TLSSocket): Peer {
  // Typed as an Error, but Node stores the verification code there as a string.
  const reason = socket.authorizationError as unknown;
  return {
    cert: socket.getPeerCertificate(),
    authorized: socket.authorized,
    reason: typeof reason === 'string' ? reason : reason instanceof Error ? reason.message : '',
    protocol: socket.getProtocol(),
  };
}

function judge(peer: Peer, host: string, via: string): StepOutcome {
  const { cert, reason: code } = peer;
  if (!cert.valid_to) return fail('tls_error', `the server sent no certificate${via}`);
  const notAfter = new Date(cert.valid_to);
  const msLeft = notAfter.getTime() - Date.now();
  const days = Math.round(Math.abs(msLeft) / DAY_MS);
  const date = notAfter.toISOString().slice(0, 10);
  const who = `${name(cert.subject)} by ${name(cert.issuer)}`;

  if (msLeft <= 0) {
    const also = !peer.authorized && code !== 'CERT_HAS_EXPIRED' && code !== '' ? `; also ${code}` : '';
    return fail(
      'certificate_expired',
      `${who} expired ${days === 0 ? 'today' : `${plural(days, 'day')} ago`} (${date})${also}${via}`,
    );
  }
  if (!peer.authorized) {
    const why = REASONS[code] ?? 'the certificate is not trusted';
    const forHost = code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? ` (${host})` : '';
    return fail('tls_error', `${why}${forHost}: ${code || 'not authorized'}; ${who}${via}`);
  }
  const left = `expires in ${plural(days, 'day')} (${date})`;
  if (msLeft < WARN_DAYS * DAY_MS) return warn('certificate_expiring', `${who}, ${left}${via}`);
  return pass(`verified ${who}, ${peer.protocol ?? 'TLS'}, ${left}${via}`);
}

function name(entity: PeerCertificate['subject'] | undefined): string {
  const pick = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  return pick(entity?.CN) ?? pick(entity?.O) ?? '(no name)';
}
