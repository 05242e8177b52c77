import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFakeSite,
  send,
  startFakeSite,
  startServer,
  type FakeSiteServer,
  type FaultServer,
} from '../fault-fleet/index.js';
import { check, cleanupScratch, runDoctor, type SiteJson } from './doctor-fixtures.js';

/**
 * Two things push only meets as timeouts or 503s: a site that answers, but past half of --timeout
 * (the latency check warns: slow_response, with the slowest request), and a site whose /api/health
 * says its database is down (database_unavailable, read from the 503's body).
 */
describe('doctor sees what push would only meet later', () => {
  let slow: FakeSiteServer;
  let dbDown: FaultServer;

  beforeAll(async () => {
    slow = await startFakeSite({ delayMs: 600 });
    const site = createFakeSite().handler;
    dbDown = await startServer((req, res, ctx) =>
      req.url === '/api/health'
        ? send(res, 503, JSON.stringify({ status: 'error', version: '1.0.0', database: 'error' }))
        : site(req, res, ctx),
    );
  });
  afterAll(async () => {
    await Promise.all([slow.close(), dbDown.close()]);
    cleanupScratch();
  });

  it('slow_response: answers past half of --timeout are a warning on the latency check', async () => {
    const r = await runDoctor([slow.url, '--timeout', '1', '--json']);
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'health').status).toBe('pass');
    const latency = check(report, 'latency');
    expect(latency.status).toBe('warn');
    expect(latency.detail).toMatch(/^slowest GET \/\S* \d{3,4} ms of 1000 ms timeout, \d+ requests; direct/);
  });

  it('database_unavailable: the health body says which part is down', async () => {
    const r = await runDoctor([dbDown.url, '--retries', '0', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'health')).toMatchObject({
      status: 'fail',
      detail: '503: status error, database error',
    });
    expect(report.diagnosis?.code).toBe('database_unavailable');
    expect(report.diagnosis?.reproduce).toBe(`curl -sS -i --max-time 8 '${dbDown.url}/api/health'`);
  });
});
