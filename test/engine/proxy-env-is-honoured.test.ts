import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyFromEnv } from '../../src/engine/dispatcher.js';
import { createSiteClient } from '../../src/engine/site-client.js';
import {
  makeCert,
  startCountingProxy,
  startFakeSite,
  type CountingProxy,
  type FakeSiteServer,
} from '../fault-fleet/index.js';

/**
 * HTTP_PROXY / HTTPS_PROXY / NO_PROXY are honoured (DESIGN.md §2), through a real loopback proxy that
 * counts the tunnels it opens. The client reads the variables from its `env` option, so the test
 * never touches process.env.
 */
let proxy: CountingProxy;
let plain: FakeSiteServer;
let bypassed: FakeSiteServer;
let secure: FakeSiteServer;
const cert = makeCert({ days: 30 });

beforeAll(async () => {
  proxy = await startCountingProxy();
  plain = await startFakeSite({ publishableKey: 'pk_test_plain' });
  bypassed = await startFakeSite({ publishableKey: 'pk_test_bypassed' });
  secure = await startFakeSite({ publishableKey: 'pk_test_secure' }, { tls: cert });
});
afterAll(async () => {
  await Promise.all([proxy.close(), plain.close(), bypassed.close(), secure.close()]);
});

function clientWith(env: Record<string, string>) {
  return createSiteClient({ timeoutMs: 3000, retries: 0, concurrency: 4, env, ca: cert.ca });
}

describe('proxy variables', () => {
  it('tunnels https:// through HTTPS_PROXY, with TLS still verified end to end', async () => {
    const client = clientWith({ HTTPS_PROXY: proxy.url });
    try {
      const before = proxy.connects.length;
      const { value } = await client.getPublishableKey(secure.url);
      expect(value).toBe('pk_test_secure');
      expect(proxy.connects.slice(before)).toEqual([`127.0.0.1:${secure.port}`]);
    } finally {
      await client.close();
    }
  });

  it('sends http:// through HTTP_PROXY, except hosts listed in NO_PROXY', async () => {
    const client = clientWith({ http_proxy: proxy.url, NO_PROXY: `localhost, 127.0.0.1:${bypassed.port}` });
    try {
      const before = proxy.connects.length + proxy.requests.length;
      expect((await client.getPublishableKey(plain.url)).value).toBe('pk_test_plain');
      const afterProxied = proxy.connects.length + proxy.requests.length;
      expect(afterProxied - before).toBe(1);
      expect((await client.getPublishableKey(bypassed.url)).value).toBe('pk_test_bypassed');
      expect(proxy.connects.length + proxy.requests.length).toBe(afterProxied);
      expect(bypassed.calls).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('goes direct when no variable is set', async () => {
    const client = clientWith({});
    try {
      const before = proxy.connects.length + proxy.requests.length;
      await client.getPublishableKey(plain.url);
      expect(proxy.connects.length + proxy.requests.length).toBe(before);
    } finally {
      await client.close();
    }
  });

  it("a proxy refusing the tunnel is the site's proxy_error, asked once (not retried, not thrown as a bug)", async () => {
    // The counting proxy refuses CONNECT to anything but 127.0.0.1 (403), as a deny list does.
    const client = createSiteClient({
      timeoutMs: 3000,
      retries: 2,
      concurrency: 1,
      env: { HTTP_PROXY: proxy.url },
    });
    try {
      const before = proxy.connects.length;
      const refused = `http://localhost:${plain.port}`;
      await expect(client.getPublishableKey(refused)).rejects.toMatchObject({
        code: 'proxy_error',
        attempts: 1,
      });
      expect(proxy.connects.slice(before)).toEqual([`localhost:${plain.port}`]);
    } finally {
      await client.close();
    }
  });

  it('does not trust a certificate it would not trust directly', async () => {
    const client = createSiteClient({
      timeoutMs: 3000,
      retries: 0,
      concurrency: 1,
      env: { HTTPS_PROXY: proxy.url },
    });
    try {
      await expect(client.getHealth(secure.url)).rejects.toMatchObject({ code: 'tls_error' });
    } finally {
      await client.close();
    }
  });
});

describe('proxyFromEnv', () => {
  it('prefers lower case, falls back to HTTP_PROXY for https like undici, and reads NO_PROXY', () => {
    expect(proxyFromEnv({ http_proxy: 'http://a:1', HTTP_PROXY: 'http://b:1', NO_PROXY: 'x' })).toEqual({
      httpProxy: 'http://a:1',
      httpsProxy: 'http://a:1',
      noProxy: 'x',
    });
    expect(proxyFromEnv({ HTTPS_PROXY: 'http://s:1' })).toEqual({
      httpProxy: '',
      httpsProxy: 'http://s:1',
      noProxy: '',
    });
  });

  it('is null without proxy variables (plain Agent, no per-request NO_PROXY check)', () => {
    expect(proxyFromEnv({ NO_PROXY: '*', HTTP_PROXY: '' })).toBeNull();
  });
});
