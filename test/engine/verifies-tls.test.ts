import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSiteClient, type SiteClient } from '../../src/engine/site-client.js';
import { makeCert, startFakeSite, type CertBundle, type FakeSiteServer } from '../fault-fleet/index.js';

/**
 * TLS is always verified (DESIGN.md §2): a trusted, in-date certificate for the right name passes;
 * anything else is tls_error with the reason, and NODE_TLS_REJECT_UNAUTHORIZED=0 changes nothing.
 */
const servers: FakeSiteServer[] = [];
const clients: SiteClient[] = [];

async function siteWith(cert: CertBundle, host?: string): Promise<FakeSiteServer> {
  const s = await startFakeSite({ publishableKey: 'pk_test_tls' }, { tls: cert, ...(host ? { host } : {}) });
  servers.push(s);
  return s;
}
function clientTrusting(ca?: string): SiteClient {
  const c = createSiteClient({ timeoutMs: 3000, retries: 0, concurrency: 2, env: {}, ...(ca ? { ca } : {}) });
  clients.push(c);
  return c;
}
const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as { code: string; message: string },
  );

let valid: CertBundle;
beforeAll(() => {
  valid = makeCert({ days: 30 });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
});

describe('certificates', () => {
  it('accepts a certificate from a trusted CA, by IP and by name', async () => {
    const site = await siteWith(valid);
    const client = clientTrusting(valid.ca);
    expect((await client.getPublishableKey(site.url)).value).toBe('pk_test_tls');
    expect((await client.getPublishableKey(site.url.replace('127.0.0.1', 'localhost'))).value).toBe(
      'pk_test_tls',
    );
  });

  it('accepts a certificate that expires in 3 days (a warning for doctor, not a failure)', async () => {
    const soon = makeCert({ days: 3 });
    const daysLeft = (soon.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(daysLeft).toBeGreaterThan(2.9);
    expect(daysLeft).toBeLessThanOrEqual(3);
    const site = await siteWith(soon);
    expect((await clientTrusting(soon.ca).getHealth(site.url)).attempts).toBe(1);
  });

  it.each([
    ['expired', () => makeCert({ expired: true }), true, 'CERT_HAS_EXPIRED'],
    ['self-signed', () => makeCert({ selfSigned: true }), false, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['from an unknown CA', () => makeCert(), false, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['for another name', () => makeCert({ hosts: ['other.example'] }), true, 'ERR_TLS_CERT_ALTNAME_INVALID'],
  ] as const)('refuses a certificate %s', async (_name, make, trustCa, reason) => {
    const cert = make();
    const site = await siteWith(cert);
    const err = await failure(clientTrusting(trustCa ? cert.ca : undefined).getHealth(site.url));
    expect(err).toMatchObject({ code: 'tls_error' });
    expect(err?.message).toContain(reason);
  });

  it('trusts the extra CA it is given, not any CA', async () => {
    const other = makeCert();
    const site = await siteWith(valid);
    const err = await failure(clientTrusting(other.ca).getHealth(site.url));
    expect(err).toMatchObject({ code: 'tls_error' });
  });
});

describe('NODE_TLS_REJECT_UNAUTHORIZED=0', () => {
  const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  afterEach(() => {
    if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
  });

  it('does not switch verification off', async () => {
    const site = await siteWith(makeCert({ selfSigned: true }));
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    const err = await failure(clientTrusting().getHealth(site.url));
    expect(err).toMatchObject({ code: 'tls_error' });
  });
});
