import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeKey, makeCert, startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { check, cleanupScratch, runDoctor, scratchPath, type SiteJson } from './doctor-fixtures.js';

/**
 * The TLS check reads the certificate the way `openssl x509 -noout -dates` does: expired is a
 * failure (certificate_expired), expiring within 14 days a warning (certificate_expiring, exit 0).
 * The certificates are made by the test, signed by a CA the CLI is told to trust — with --ca-file, or
 * with NODE_EXTRA_CA_CERTS, which the TLS check and the HTTP transport honour alike.
 */
describe('doctor reads certificate dates', () => {
  const apiKey = fakeKey('api');
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const expiredCert = makeCert({ expired: true });
  const soonCert = makeCert({ days: 3 });
  const caFile = scratchPath('ca.pem');
  let expired: FakeSiteServer;
  let soon: FakeSiteServer;
  const env = { TEMPLATE_MASTER_API_KEY: apiKey, STRIPE_PUBLISHABLE_KEY: pk, STRIPE_SECRET_KEY: sk };

  beforeAll(async () => {
    writeFileSync(caFile, expiredCert.ca + soonCert.ca);
    expired = await startFakeSite({ apiKey, publishableKey: pk }, { tls: expiredCert });
    soon = await startFakeSite({ apiKey, publishableKey: pk }, { tls: soonCert });
    soon.state.settings.set('stripe_secret_key', sk);
  });
  afterAll(async () => {
    await Promise.all([expired.close(), soon.close()]);
    cleanupScratch();
  });

  it('fails an expired certificate with certificate_expired and skips what depends on it', async () => {
    const r = await runDoctor([expired.url, '--ca-file', caFile, '--json'], env);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'tcp').status).toBe('pass');
    expect(check(report, 'tls')).toMatchObject({ status: 'fail' });
    expect(check(report, 'tls').detail).toMatch(/expired 1 day ago \(\d{4}-\d\d-\d\d\)/);
    for (const name of ['http', 'health', 'stripe-pk', 'stripe-health', 'test-stripe']) {
      expect(check(report, name), name).toMatchObject({ status: 'skip', detail: 'not run: tls failed' });
    }
    expect(report.diagnosis?.code).toBe('certificate_expired');
    expect(report.diagnosis?.hint).toContain('openssl x509 -noout -dates');
    expect(report.diagnosis?.reproduce).toBe(
      `curl -sS -v -o /dev/null --max-time 8 --cacert '${caFile}' '${expired.url}/' 2>&1 | grep -iE 'expire date|SSL certificate'`,
    );
  });

  it('warns about a certificate expiring in 3 days, and exits 0', async () => {
    const r = await runDoctor([soon.url, '--ca-file', caFile, '--json'], env);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'tls').status).toBe('warn');
    expect(check(report, 'tls').detail).toMatch(/expires in 3 days/);
    expect(check(report, 'health').status).toBe('pass');
    expect(check(report, 'stripe-health').status).toBe('pass');
    expect(report.diagnosis?.code).toBe('certificate_expiring');
  });

  it('trusts NODE_EXTRA_CA_CERTS in the TLS check and in the HTTP transport alike', async () => {
    const r = await runDoctor([soon.url, '--json'], { ...env, NODE_EXTRA_CA_CERTS: caFile });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'tls').status).toBe('warn');
    expect(check(report, 'health').status).toBe('pass'); // undici verified the same chain
    expect(report.diagnosis?.code).toBe('certificate_expiring');
    expect(report.diagnosis?.reproduce).toContain('--cacert "$NODE_EXTRA_CA_CERTS"');
  });

  it('without the CA, the chain is untrusted: tls_error, nothing sent over HTTP', async () => {
    const r = await runDoctor([soon.url, '--json'], env);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'tls').status).toBe('fail');
    expect(check(report, 'tls').detail).toContain('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(report.diagnosis?.code).toBe('tls_error');
    expect(check(report, 'health').status).toBe('skip');
  });

  it('fails a certificate made for another host name', async () => {
    const other = makeCert({ hosts: ['other.example'] });
    writeFileSync(scratchPath('other-ca.pem'), other.ca);
    const site = await startFakeSite({ apiKey, publishableKey: pk }, { tls: other });
    try {
      const r = await runDoctor([site.url, '--ca-file', scratchPath('other-ca.pem'), '--json'], env);
      const report = JSON.parse(r.stdout) as SiteJson;
      expect(check(report, 'tls').detail).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
      expect(report.diagnosis?.code).toBe('tls_error');
    } finally {
      await site.close();
    }
  });
});
