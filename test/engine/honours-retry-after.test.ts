import { afterAll, describe, expect, it } from 'vitest';
import { createSiteClient, type SiteClient } from '../../src/engine/site-client.js';
import type { SiteError } from '../../src/engine/site-error.js';
import { startFault, type FaultServer } from '../fault-fleet/index.js';

/**
 * A 429 (or 503) with Retry-After waits what the site asked, not the jittered backoff, within the
 * policy's cap. The clock is injected: the test sees the wait asked for without sitting through it.
 */
const servers: FaultServer[] = [];
const clients: SiteClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
});

function setup(options: { retries?: number; now?: number; maxRetryAfterMs?: number } = {}) {
  const delays: number[] = [];
  const client = createSiteClient({
    timeoutMs: 2000,
    retries: options.retries ?? 2,
    concurrency: 2,
    env: {},
    retry: options.maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs: options.maxRetryAfterMs },
    // random() = 0 would make any jittered wait 0, so a non-zero wait can only come from Retry-After.
    clock: {
      sleep: async (ms) => void delays.push(ms),
      random: () => 0,
      now: () => options.now ?? Date.now(),
    },
  });
  clients.push(client);
  return { client, delays };
}

async function rateLimited(retryAfter: string, failures = 1): Promise<FaultServer> {
  const server = await startFault('rateLimitedThenOk', {
    retryAfter,
    failures,
    publishableKey: 'pk_test_retryafter',
  });
  servers.push(server);
  return server;
}

describe('Retry-After', () => {
  it('waits the seconds a 429 asks for, then succeeds', async () => {
    const server = await rateLimited('1');
    const { client, delays } = setup();
    const result = await client.getPublishableKey(server.url);
    expect(result).toMatchObject({ value: 'pk_test_retryafter', attempts: 2 });
    expect(delays).toEqual([1000]);
    expect(server.calls).toBe(2);
  });

  it('reads an HTTP date against the clock', async () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    const server = await rateLimited(new Date(now + 3000).toUTCString());
    const { client, delays } = setup({ now });
    await client.getPublishableKey(server.url);
    expect(delays).toEqual([3000]);
  });

  it('caps an excessive Retry-After', async () => {
    const server = await rateLimited('86400');
    const { client, delays } = setup({ maxRetryAfterMs: 7000 });
    await client.getPublishableKey(server.url);
    expect(delays).toEqual([7000]);
  });

  it('gives up at the retry limit and reports what the site asked for', async () => {
    const server = await rateLimited('2', 10);
    const { client, delays } = setup({ retries: 1 });
    const err = await client.getPublishableKey(server.url).then(
      () => null,
      (e: unknown) => e as SiteError,
    );
    expect(err).toMatchObject({
      code: 'too_many_attempts',
      httpStatus: 429,
      attempts: 2,
      retryAfterMs: 2000,
    });
    expect(delays).toEqual([2000]);
  });

  it('falls back to jittered backoff when Retry-After is unreadable', async () => {
    const server = await rateLimited('whenever');
    const { client, delays } = setup();
    await client.getPublishableKey(server.url);
    expect(delays).toEqual([0]);
  });
});
