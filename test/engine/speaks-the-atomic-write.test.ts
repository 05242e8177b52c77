import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSiteClient, type SiteClient } from '../../src/engine/site-client.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { API_KEY_HEADER, ROUTES } from '../../src/protocol/routes.js';
import { fakeKey, startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';

/**
 * Issue 10 from the client side: `putSettings` sends every value in one compact `{"values":{…}}` PUT
 * and returns the key view as committed; a refused value is the catalog's code (the site's `setting`
 * body is read liberally) and the site keeps its old pair whole; no value appears in the error.
 */
const apiKey = fakeKey('api');
let site: FakeSiteServer;
let client: SiteClient;

beforeAll(async () => {
  site = await startFakeSite({ apiKey, atomic: true });
  client = createSiteClient({ timeoutMs: 2000, retries: 0, concurrency: 4, env: {} });
});
afterAll(async () => {
  await client.close();
  await site.close();
});

describe('the atomic write, from the client side', () => {
  it('one PUT with every value; its answer is the committed key view', async () => {
    const sk = fakeKey('sk_test');
    const pk = fakeKey('pk_test');
    const { value, attempts } = await client.putSettings(site.url, { stripe_secret_key: sk, stripe_publishable_key: pk }, apiKey);
    expect(attempts).toBe(1);
    const last = site.requests.at(-1)!;
    expect(last).toMatchObject({ method: 'PUT', url: ROUTES.settings, body: JSON.stringify({ values: { stripe_secret_key: sk, stripe_publishable_key: pk } }) });
    expect(last.headers[API_KEY_HEADER]).toBe(apiKey);
    expect(value.capabilities).toEqual(['atomic_write']);
    expect(value.keys?.stripe_secret_key?.fingerprint).toBe(fingerprint(sk));
    expect(value.keys?.stripe_publishable_key?.value).toBe(pk);
  });

  it('a refused value: the catalog code, nothing written, no value in the error', async () => {
    const before = new Map(site.state.settings);
    const good = fakeKey('pk_test');
    const bad = 'sk_test_has spaces';
    const err = await client.putSettings(site.url, { stripe_secret_key: bad, stripe_publishable_key: good }, apiKey).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_secret_format', httpStatus: 400 });
    expect(JSON.stringify(err) + String((err as Error).message)).not.toContain(bad);
    expect(site.state.settings).toEqual(before);
  });

  it('a wrong key is invalid_api_key', async () => {
    await expect(client.putSettings(site.url, { stripe_publishable_key: fakeKey('pk_test') }, 'wrong')).rejects.toMatchObject({ code: 'invalid_api_key' });
  });
});
