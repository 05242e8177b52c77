import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeSite, makeCert, send, startServer, type FaultServer } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { check, cleanupScratch, runDoctor, scratchPath, type SiteJson } from './doctor-fixtures.js';

/**
 * GET / is the guide's `curl -I https://site`: its status and Server header are reported, a redirect
 * within the site is fine, and a redirect from https:// to plain http:// fails (redirects_to_http):
 * a browser, or a client that follows it, would then send everything in clear text.
 */
describe('doctor reads GET /', () => {
  const cert = makeCert({ days: 60 });
  const caFile = scratchPath('ca.pem');
  let toHttp: FaultServer;
  let toLogin: FaultServer;
  const pk = makeKey('pk');

  beforeAll(async () => {
    writeFileSync(caFile, cert.ca);
    const site = createFakeSite({ publishableKey: pk }).handler;
    toHttp = await startServer(
      (req, res, ctx) =>
        req.url === '/'
          ? send(res, 301, '<html>moved</html>', {
              location: 'http://shop.example.invalid/',
              server: 'nginx/1.25.3',
            })
          : site(req, res, ctx),
      { tls: cert },
    );
    toLogin = await startServer(
      (req, res, ctx) =>
        req.url === '/'
          ? send(res, 302, '<html>login</html>', { location: '/fr/', server: 'caddy' })
          : site(req, res, ctx),
      { tls: cert },
    );
  });
  afterAll(async () => {
    await Promise.all([toHttp.close(), toLogin.close()]);
    cleanupScratch();
  });

  it('fails a redirect from https:// to http:// and skips the API checks', async () => {
    const r = await runDoctor([toHttp.url, '--ca-file', caFile, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'tls').status).toBe('pass');
    expect(check(report, 'http')).toMatchObject({
      status: 'fail',
      detail: 'GET / redirects (301) to http://shop.example.invalid/',
    });
    expect(check(report, 'health').detail).toBe('not run: http failed');
    expect(report.diagnosis?.code).toBe('redirects_to_http');
    expect(report.diagnosis?.reproduce).toBe(
      `curl -sS -I --max-time 8 --cacert '${caFile}' '${toHttp.url}/'`,
    );
  });

  it('passes a redirect within the site, with the status and the Server header', async () => {
    // (This site serves its key without a CORS header: the first warning, so the diagnosis.)
    const r = await runDoctor([toLogin.url, '--ca-file', caFile, '--json']);
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'http').status).toBe('pass');
    expect(check(report, 'http').detail).toMatch(/^302 in \d+ ms, server: caddy, redirects to \/fr\/$/);
    expect(check(report, 'stripe-pk')).toMatchObject({ status: 'warn' });
    expect(check(report, 'stripe-pk').detail).toContain('no CORS header');
    expect(report.diagnosis?.code).toBe('cors_header_missing');
  });
});
