import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSettingsStore } from '../../src/store/open-settings-store.js';
import { channelFor, listenerNameFor } from '../../src/store/postgres-settings-dialect.js';
import type { SettingsStore } from '../../src/store/settings-store.js';
import { POSTGRES_TEST_URL, terminateBackends, unreachablePostgresUrl } from '../helpers/postgres.js';
import { recordKeys, storeFixture, type StoreFixture } from './store-fixture.js';

const audit = { fingerprint: '0000000000000000', actorIp: null };

/** Collects log lines and lets a test await the first one matching a pattern. */
function logCollector() {
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  return {
    lines,
    log: (msg: string) => {
      lines.push(msg);
      for (const w of waiters.filter((w) => w.re.test(msg))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    },
    next: (re: RegExp) => new Promise<string>((resolve) => waiters.push({ re, resolve })),
  };
}

/** A loopback proxy to the test server whose answers can be cut off while connections stay open. */
async function stallingProxy() {
  const target = new URL(POSTGRES_TEST_URL);
  const sockets = new Set<Socket>();
  let stalled = false;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
    }
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => stalled || client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stall: () => (stalled = true),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('Postgres change feed across instances', () => {
  const fixtures: StoreFixture[] = [];
  const fixture = () => {
    const fx = storeFixture('postgres');
    fixtures.push(fx);
    return fx;
  };
  afterEach(async () => {
    await Promise.all(fixtures.splice(0).map((fx) => fx.cleanup()));
  });

  it('announces a put on one instance to another on the same schema', async () => {
    const fx = fixture();
    const [a, b] = [await fx.open(), await fx.open()];
    const rec = await recordKeys(b);
    await a.put('stripe_publishable_key', 'pk_test_x', audit);
    expect(await rec.waitFor(1)).toEqual(['stripe_publishable_key']);
    expect((await b.get('stripe_publishable_key'))?.value).toBe('pk_test_x');
    await a.delete('stripe_publishable_key', audit);
    expect(await rec.waitFor(2)).toEqual(['stripe_publishable_key', 'stripe_publishable_key']);
  });

  it('keeps separate schemas apart', async () => {
    const [x, y] = [fixture(), fixture()];
    const storeX = await x.open();
    const storeY = await y.open();
    const rec = await recordKeys(storeX);
    // Y's change commits first; had it leaked into X's channel, it would arrive before X's own.
    await storeY.put('stripe_price_id', 'price_y', audit);
    await storeX.put('stripe_publishable_key', 'pk_test_x', audit);
    expect(await rec.waitFor(1)).toEqual(['stripe_publishable_key']);
    expect(await storeX.get('stripe_price_id')).toBeUndefined();
  });

  it('re-listens after its session is killed and re-announces every key', async () => {
    const fx = fixture();
    const logs = logCollector();
    const store = await fx.open({ log: logs.log });
    const writer = await fx.open();
    const rec = await recordKeys(store);
    await writer.put('stripe_price_id', 'price_1', audit);
    await rec.waitFor(1);

    const reconnected = logs.next(/reconnected/);
    expect(await terminateBackends(listenerNameFor(fx.schema as string))).toBe(1);
    await reconnected;
    expect(logs.lines[0]).toMatch(/lost its connection/);
    // The resync re-announces price_1 even though nothing changed while the session was down.
    expect(await rec.waitFor(2)).toEqual(['stripe_price_id', 'stripe_price_id']);
    await writer.put('stripe_secret_key', 'sk_test_after', audit);
    expect((await rec.waitFor(3))[2]).toBe('stripe_secret_key');
  });

  it('fails ping, subscribe and migrate fast on an unreachable server', async () => {
    const store: SettingsStore = await createSettingsStore(await unreachablePostgresUrl(), {
      connectTimeoutMs: 1000,
    });
    try {
      const started = Date.now();
      await expect(store.ping()).rejects.toThrow(/ECONNREFUSED|timeout/);
      await expect(store.subscribe(() => undefined)).rejects.toThrow();
      await expect(store.migrate()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await store.close();
    }
    await expect(store.ping()).rejects.toThrow('closed');
  });

  it('fails ping within the timeout when the server accepts but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const store = await createSettingsStore(`postgres://postgres@127.0.0.1:${port}/test`, {
      connectTimeoutMs: 300,
    });
    try {
      await expect(store.ping()).rejects.toThrow(/timeout/i);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('fails ping within the timeout when an open connection stops answering', async () => {
    const proxy = await stallingProxy();
    const url = new URL(POSTGRES_TEST_URL);
    url.host = `127.0.0.1:${proxy.port}`;
    const store = await createSettingsStore(url.toString(), { connectTimeoutMs: 500 });
    try {
      await store.ping(); // leaves one idle pooled connection through the proxy
      proxy.stall();
      await expect(store.ping()).rejects.toThrow(/timeout/i);
    } finally {
      await proxy.close();
      await store.close();
    }
  });

  it('derives a channel per schema that LISTEN will not truncate', () => {
    expect(channelFor('site_a')).toBe('keyfleet_settings:site_a');
    expect(channelFor('site_a')).not.toBe(channelFor('site_b'));
    const long = 'x'.repeat(63);
    expect(Buffer.byteLength(channelFor(long))).toBeLessThanOrEqual(63);
    expect(channelFor(long)).not.toBe(channelFor('y'.repeat(63)));
  });
});
