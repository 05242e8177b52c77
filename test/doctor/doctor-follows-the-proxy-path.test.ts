import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyRouteFor } from '../../src/doctor/proxy-route.js';
import {
  fakeKey,
  makeCert,
  startCountingProxy,
  startFakeSite,
  type CountingProxy,
  type FakeSiteServer,
} from '../fault-fleet/index.js';
import { check, cleanupScratch, runDoctor, scratchPath, type SiteJson } from './doctor-fixtures.js';

/**
 * HTTP_PROXY / HTTPS_PROXY / NO_PROXY are read as the transport reads them. When a proxy is in
 * effect the DNS and TCP checks test the proxy, the TLS handshake runs through a CONNECT tunnel
 * (end to end, still verified), the latency check names the proxy, and the curl command uses it.
 */
describe('doctor through a proxy', () => {
  const cert = makeCert({ days: 90 });
  const caFile = scratchPath('ca.pem');
  let proxy: CountingProxy;
  let site: FakeSiteServer;

  beforeAll(async () => {
    writeFileSync(caFile, cert.ca);
    proxy = await startCountingProxy();
    site = await startFakeSite({ apiKey: fakeKey('api') }, { tls: cert });
  });
  afterAll(async () => {
    await Promise.all([proxy.close(), site.close()]);
    cleanupScratch();
  });

  it('tests the proxy, tunnels the TLS check, and reproduces with curl -x', async () => {
    const r = await runDoctor([site.url, '--ca-file', caFile, '--json'], { HTTPS_PROXY: proxy.url });
    const report = JSON.parse(r.stdout) as SiteJson;
    const proxyHost = new URL(proxy.url).host;
    expect(check(report, 'dns').detail).toContain(
      `(proxy http://${proxyHost}; the proxy resolves 127.0.0.1)`,
    );
    expect(check(report, 'tcp')).toMatchObject({ status: 'pass' });
    expect(check(report, 'tcp').detail).toContain(`${proxyHost} (the proxy http://${proxyHost}) open in`);
    expect(check(report, 'tls')).toMatchObject({ status: 'pass' });
    expect(check(report, 'tls').detail).toContain(`(through http://${proxyHost})`);
    expect(check(report, 'health').status).toBe('pass');
    expect(check(report, 'latency').detail).toContain(`proxy http://${proxyHost} (HTTPS_PROXY)`);
    // One tunnel for the TLS check, at least one for the HTTP checks.
    expect(proxy.connects.filter((c) => c === `127.0.0.1:${site.port}`).length).toBeGreaterThanOrEqual(2);
    // The fake site has no publishable key: that is the diagnosis, reproduced through the proxy.
    expect(report.diagnosis?.code).toBe('no_publishable_key');
    expect(report.diagnosis?.reproduce).toBe(
      `curl -sS -i --max-time 8 --cacert '${caFile}' -x "$HTTPS_PROXY" '${site.url}/api/stripe-pk'`,
    );
  });

  it('goes direct when NO_PROXY names the host, and says so', async () => {
    const before = proxy.connects.length;
    const r = await runDoctor([site.url, '--ca-file', caFile, '--json'], {
      HTTPS_PROXY: proxy.url,
      NO_PROXY: 'localhost,127.0.0.1',
    });
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'tls').status).toBe('pass');
    expect(check(report, 'latency').detail).toContain(
      'direct (proxy variables set, NO_PROXY exempts this site)',
    );
    expect(report.diagnosis?.reproduce).toContain(`--noproxy '*'`);
    expect(proxy.connects.length).toBe(before);
  });

  it('fails with proxy_error when the proxy refuses the tunnel', async () => {
    // The counting proxy only forwards to 127.0.0.1; localhost is refused with 403.
    const r = await runDoctor([site.url.replace('127.0.0.1', 'localhost'), '--ca-file', caFile, '--json'], {
      HTTPS_PROXY: proxy.url,
    });
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'tls')).toMatchObject({ status: 'fail' });
    expect(check(report, 'tls').detail).toContain('answered 403 to CONNECT localhost:');
    expect(report.diagnosis?.code).toBe('proxy_error');
  });
});

describe('which way a request goes (the transport rules)', () => {
  const route = (url: string, env: Record<string, string>) => {
    const r = proxyRouteFor(new URL(url), env);
    return r.proxy === null ? (r.bypassed ? 'bypassed' : 'direct') : `${r.variable} ${r.proxy.host}`;
  };

  it('https falls back to HTTP_PROXY, lower case wins, http never uses HTTPS_PROXY', () => {
    expect(route('https://a.example', { HTTP_PROXY: 'http://p:1' })).toBe('HTTP_PROXY p:1');
    expect(route('https://a.example', { https_proxy: 'http://q:2', HTTPS_PROXY: 'http://p:1' })).toBe(
      'https_proxy q:2',
    );
    expect(route('http://a.example', { HTTPS_PROXY: 'http://p:1' })).toBe('direct');
    expect(route('https://a.example', {})).toBe('direct');
  });

  it('NO_PROXY: exact host, subdomains, leading dot or *., ports, and * alone', () => {
    const env = (noProxy: string) => ({ HTTPS_PROXY: 'http://p:1', NO_PROXY: noProxy });
    expect(route('https://shop.example.fr', env('example.fr'))).toBe('bypassed');
    expect(route('https://shop.example.fr', env('.example.fr'))).toBe('bypassed');
    expect(route('https://shop.example.fr', env('*.example.fr'))).toBe('bypassed');
    expect(route('https://example.fr', env('shop.example.fr'))).toBe('HTTPS_PROXY p:1');
    expect(route('https://badexample.fr', env('example.fr'))).toBe('HTTPS_PROXY p:1');
    expect(route('https://shop.example.fr:8443', env('shop.example.fr:443'))).toBe('HTTPS_PROXY p:1');
    expect(route('https://shop.example.fr', env('shop.example.fr:443'))).toBe('bypassed');
    expect(route('https://anything.example', env('*'))).toBe('bypassed');
    expect(route('https://[::1]:8443', env('[::1]'))).toBe('bypassed');
  });
});
