import { fakeKey } from './fake-site.js';
import { startFakeSite, startFault, type FaultName, type FaultOptions } from './faults.js';
import { makeCert } from './make-cert.js';
import { refusedPort, type FaultServer } from './server.js';

export { makeCert, type CertBundle, type CertOptions } from './make-cert.js';
export {
  startFault,
  startFakeSite,
  type FaultName,
  type FaultOptions,
  type FakeSiteServer,
} from './faults.js';
export { createFakeSite, errorBody, fakeKey, FAKE_SITE_VERSION } from './fake-site.js';
export { refusedPort, send, startServer, type FaultServer, type RecordedRequest } from './server.js';
export { startCountingProxy, type CountingProxy } from './counting-proxy.js';

/**
 * Every misbehaviour at once, each on its own loopback port, plus a good site, a stale site
 * (verify_mismatch), TLS sites with a self-signed and an expired certificate, a refused port and an
 * unresolvable host. Start it once per test file; `close()` in afterAll.
 *
 * @example
 * const fleet = await startFaultFleet();
 * await expect(client.getHealth(fleet.urls.badGatewayHtml)).rejects.toMatchObject({ code: 'bad_gateway' });
 * fleet.server('unavailableThenOk').calls; // 2 after one retry
 * await fleet.close();
 */
export type FleetSite =
  FaultName | 'good' | 'stale' | 'tlsSelfSigned' | 'tlsExpired' | 'tlsValid' | 'refused' | 'dns';

export interface FaultFleet {
  readonly urls: Readonly<Record<FleetSite, string>>;
  /** The server behind a site (not for `refused` and `dns`, which have none). */
  server(site: Exclude<FleetSite, 'refused' | 'dns'>): FaultServer;
  /** CAs that signed tlsValid and tlsExpired: trust them, and only the date is wrong on tlsExpired. */
  readonly ca: string;
  /** API key the good, stale and recovering sites accept. */
  readonly apiKey: string;
  /** Publishable key the stale site keeps serving whatever is pushed. */
  readonly stalePublishableKey: string;
  close(): Promise<void>;
}

const HTTP_FAULTS: readonly FaultName[] = [
  'timeout',
  'reset',
  'hangup',
  'unauthorized',
  'badSecret',
  'notFoundHtml',
  'badGatewayHtml',
  'gatewayTimeoutHtml',
  'serverErrorHtml',
  'alwaysUnavailable',
  'unavailableThenOk',
  'rateLimitedThenOk',
  'notJson',
  'html200',
  'redirect',
  'leaky',
];

export async function startFaultFleet(options: FaultOptions = {}): Promise<FaultFleet> {
  const apiKey = options.apiKey ?? fakeKey('api');
  const stalePublishableKey = fakeKey('pk_test');
  const trusted = makeCert({ days: 30 });
  const expired = makeCert({ expired: true });
  // Each makeCert has its own CA; `ca` below trusts both (Node accepts concatenated PEMs).
  const selfSigned = makeCert({ selfSigned: true });

  const servers = new Map<string, FaultServer>();
  const started: Promise<void>[] = HTTP_FAULTS.map(async (name) => {
    servers.set(name, await startFault(name, { ...options, apiKey }));
  });
  started.push(
    (async () => void servers.set('good', await startFakeSite({ apiKey })))(),
    (async () =>
      void servers.set(
        'stale',
        await startFakeSite({ apiKey, stale: true, publishableKey: stalePublishableKey }),
      ))(),
    (async () => void servers.set('tlsValid', await startFakeSite({ apiKey }, { tls: trusted })))(),
    (async () => void servers.set('tlsExpired', await startFakeSite({ apiKey }, { tls: expired })))(),
    (async () => void servers.set('tlsSelfSigned', await startFakeSite({ apiKey }, { tls: selfSigned })))(),
  );
  const [port] = await Promise.all([refusedPort(), Promise.all(started)]);

  const urls = Object.fromEntries([...servers].map(([name, s]) => [name, s.url])) as Record<
    FleetSite,
    string
  >;
  urls.refused = `http://127.0.0.1:${port}`;
  urls.dns = 'https://keyfleet-fault.invalid';

  return {
    urls,
    server(site) {
      const s = servers.get(site);
      if (s === undefined) throw new Error(`no server for ${site}`);
      return s;
    },
    ca: `${trusted.ca}${expired.ca}`,
    apiKey,
    stalePublishableKey,
    close: async () => {
      await Promise.all([...servers.values()].map((s) => s.close()));
    },
  };
}
