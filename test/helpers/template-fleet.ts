import type { AddressInfo } from 'node:net';
import { ROUTES } from '../../src/protocol/routes.js';
import { startTestSite, type TestSite } from './template-site.js';
import { MASTER_KEY } from './keys.js';

/** N real template sites (SQLite each), listening on loopback ports, all opened by MASTER_KEY. */
export async function startTemplateFleet(n: number) {
  const sites: TestSite[] = [];
  const urls: string[] = [];
  for (let i = 0; i < n; i++) {
    const site = await startTestSite();
    await site.app.listen({ port: 0, host: '127.0.0.1' });
    sites.push(site);
    urls.push(`http://127.0.0.1:${(site.app.server.address() as AddressInfo).port}`);
  }
  return {
    sites,
    urls,
    apiKey: MASTER_KEY,
    /** The authenticated key view of site i, read in-process. */
    async keysOf(i: number) {
      const res = await sites[i]!.app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': MASTER_KEY } });
      return res.json().keys;
    },
    async pkOf(i: number): Promise<string | null> {
      const res = await sites[i]!.app.inject({ url: ROUTES.stripePk });
      return res.statusCode === 200 ? res.json().publishable_key : null;
    },
    async close() {
      await Promise.all(sites.map((s) => s.close()));
    },
  };
}
