import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSiteClient, type SiteClient } from '../../src/engine/site-client.js';
import type { StateStore } from '../../src/store/state-store.js';
import type { FakeSiteServer } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { anyStateBackend } from '../store/any-state-backend.js';
import { DASHBOARD_BACKEND } from './dashboard-fixture.js';
import { addFakeSites, createPushRun, siteJob, siteJobWorker } from './site-job-fixture.js';

const SITES = 3;

/**
 * Regression (found by the harden helper): a proxy that refuses the CONNECT tunnel makes undici throw
 * "Proxy response (403) !== 200 when HTTP Tunneling" as a RequestAbortedError. The engine did not
 * classify it, so a shared run's job threw, pg-boss gave the job out again, and the sites stayed
 * pending. Now each site is recorded `failed` with the catalog's `proxy_error`, and the job ends
 * normally (no retry). Postgres only (shared runs need the queue).
 */
describe.skipIf(DASHBOARD_BACKEND !== 'postgres')(
  'a shared run records a proxy refusal as the site’s failure',
  () => {
    const db = anyStateBackend('postgres');
    const sites: FakeSiteServer[] = [];
    const warnings: string[] = [];
    let proxy: Server;
    let proxyUrl: string;
    let connects = 0;
    let client: SiteClient;
    let state: StateStore;

    beforeAll(async () => {
      // A forward proxy that refuses every tunnel, as a corporate proxy with a deny list does.
      proxy = createServer((_req, res) => res.writeHead(403).end());
      proxy.on('connection', (s: Socket) => s.on('error', () => undefined));
      proxy.on('connect', (_req, socket: Socket) => {
        connects += 1;
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const address = proxy.address();
      if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
      proxyUrl = `http://127.0.0.1:${address.port}`;

      state = await db.open();
      await addFakeSites(state, sites, SITES, 'proxied');
      // retries: 2 (the default policy): a proxy refusal must not be retried either.
      client = createSiteClient({
        timeoutMs: 5000,
        retries: 2,
        concurrency: 4,
        env: { HTTP_PROXY: proxyUrl },
      });
    });
    afterAll(async () => {
      await client.close();
      await Promise.all(sites.map((s) => s.close()));
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await state.close();
      await db.cleanup();
    });

    it('fails each site with proxy_error, once, and the job does not throw', async () => {
      const secret = makeKey('sk');
      const run = await createPushRun(
        state,
        sites.map((s) => s.url),
        secret,
      );
      const settled: string[] = [];
      const worker = siteJobWorker(state, client, {
        log: { warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`) },
        onSettled: (_run, url) => settled.push(url),
      });
      const job = siteJob(
        run,
        'job-1',
        sites.map((s) => s.url),
      );

      // Before the fix this rejected with the undici error, and pg-boss would give the job out again.
      await expect(worker.work(job)).resolves.toBeUndefined();
      await worker.idle(run.id);

      const results = await state.siteResults(run.id);
      expect(results.map((r) => r.status)).toEqual(sites.map(() => 'failed'));
      for (const r of results) {
        expect(r.error?.code).toBe('proxy_error');
        expect(r.error?.message).toContain('the proxy answered 403 to CONNECT');
      }
      expect(settled.sort()).toEqual(sites.map((s) => s.url).sort());
      // Not retried: one tunnel asked per site (its preflight), and nothing reached the sites.
      expect(connects).toBe(SITES);
      expect(sites.map((s) => s.requests.length)).toEqual(sites.map(() => 0));
      expect(warnings.filter((w) => w.includes('will be given out again'))).toEqual([]);
      expect(JSON.stringify(results) + warnings.join('\n')).not.toContain(secret);
    });
  },
);
