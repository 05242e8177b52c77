import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSiteClient, type RequestEvent, type SiteClient } from '../../src/engine/site-client.js';
import { isLoopbackHost, resolveSite } from '../../src/engine/transport.js';
import { fakeKey, startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';

/**
 * http:// is refused before anything is sent unless the host is loopback or --allow-http is given
 * (DESIGN.md §2): a key must never cross a network in clear text by accident.
 */
let site: FakeSiteServer;
let client: SiteClient;
const events: RequestEvent[] = [];

beforeAll(async () => {
  site = await startFakeSite({ publishableKey: 'pk_test_loopback' });
  client = createSiteClient({
    timeoutMs: 2000,
    retries: 0,
    concurrency: 2,
    env: {},
    onRequest: (e) => events.push(e),
  });
});
afterAll(async () => {
  await client.close();
  await site.close();
});

describe('plain http', () => {
  it.each([
    'http://example.com',
    'http://site1.example.fr/shop',
    'http://10.0.0.5:8080',
    'http://127.0.0.1.example.com',
    'http://localhost.example.com',
    'http://[::2]',
  ])('refuses %s with insecure_url and sends nothing', async (url) => {
    const before = client.stats().requests;
    const err = await client
      .putSetting(url, 'stripe_secret_key', fakeKey('sk_test'), 'api-key-that-must-stay-home')
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ code: 'insecure_url', attempts: 0, httpStatus: null });
    expect(client.stats().requests).toBe(before);
    expect(events.filter((e) => e.url.startsWith(new URL(url).origin))).toEqual([]);
  });

  it('talks to loopback over http', async () => {
    const viaIp = await client.getPublishableKey(site.url);
    const viaName = await client.getPublishableKey(site.url.replace('127.0.0.1', 'localhost'));
    expect([viaIp.value, viaName.value]).toEqual(['pk_test_loopback', 'pk_test_loopback']);
  });

  it('lets --allow-http reach a non-loopback host (which then fails on DNS, not on policy)', async () => {
    const open = createSiteClient({ timeoutMs: 2000, retries: 0, concurrency: 1, env: {}, allowHttp: true });
    try {
      await expect(open.getHealth('http://keyfleet-fault.invalid')).rejects.toMatchObject({
        code: 'dns_not_found',
      });
    } finally {
      await open.close();
    }
  });

  it('rejects other schemes as a usage error', async () => {
    await expect(client.getHealth('ftp://127.0.0.1/')).rejects.toThrow(TypeError);
    await expect(client.getHealth('not a url')).rejects.toThrow(TypeError);
  });
});

describe('loopback and URL splitting', () => {
  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['[::1]', true],
    ['[::ffff:7f00:1]', true],
    ['128.0.0.1', false],
    ['localhost.evil.example', false],
    ['[::2]', false],
  ])('%s loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('keeps a base path, drops userinfo, query and trailing slashes', () => {
    expect(resolveSite('https://user:pw@Site.example:8443/shop/?x=1#f', false)).toEqual({
      origin: 'https://site.example:8443',
      basePath: '/shop',
    });
    expect(resolveSite('https://site.example', false)).toEqual({
      origin: 'https://site.example',
      basePath: '',
    });
  });

  it('never puts userinfo in the insecure_url error', () => {
    expect(() => resolveSite('http://admin:hunter2secret@example.com/', false)).toThrow(
      expect.objectContaining({ url: 'http://example.com', message: expect.not.stringContaining('hunter2') }),
    );
  });
});
