import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInFlightLimit } from '../../src/engine/in-flight-limit.js';
import { createSiteClient } from '../../src/engine/site-client.js';
import { startFakeSite, startFault, type FakeSiteServer } from '../fault-fleet/index.js';

/**
 * --concurrency counts HTTP requests in flight across the whole fleet (DESIGN.md §2). Measured where
 * it matters, on the servers, under 500 requests to slow sites; backoff sleeps must not hold a slot.
 */
describe('createInFlightLimit', () => {
  it('never runs more than the limit and reports the peak', async () => {
    const limit = createInFlightLimit(3);
    let running = 0;
    let most = 0;
    const task = async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setImmediate(r));
      running -= 1;
    };
    await Promise.all(Array.from({ length: 50 }, () => limit.run(task)));
    expect({ most, peak: limit.peak, inFlight: limit.inFlight, pending: limit.pending }).toEqual({
      most: 3,
      peak: 3,
      inFlight: 0,
      pending: 0,
    });
  });

  it('frees the slot when a task rejects', async () => {
    const limit = createInFlightLimit(1);
    await expect(limit.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limit.run(() => Promise.resolve(7))).resolves.toBe(7);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a concurrency of %s', (n) => {
    expect(() => createInFlightLimit(n)).toThrow(RangeError);
  });
});

describe('site client under load', () => {
  const sites: FakeSiteServer[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 5; i++) sites.push(await startFakeSite({ delayMs: 15 }));
  });
  afterAll(async () => {
    await Promise.all(sites.map((s) => s.close()));
  });

  it('keeps 500 requests to 5 slow sites within 16 in flight, fleet-wide', async () => {
    const client = createSiteClient({ timeoutMs: 5000, retries: 0, concurrency: 16, env: {} });
    try {
      const results = await Promise.all(
        Array.from({ length: 500 }, (_, i) => client.getHealth(sites[i % sites.length]!.url)),
      );
      expect(results.every((r) => r.value.status === 'ok' && r.attempts === 1)).toBe(true);
      const serverSide = sites.map((s) => s.peakActive);
      // Each site may see up to 16 at once, but never more than 16 across all of them together.
      expect(Math.max(...serverSide)).toBeLessThanOrEqual(16);
      expect(client.stats()).toEqual({ requests: 500, peakInFlight: 16, inFlight: 0 });
      expect(sites.reduce((n, s) => n + s.calls, 0)).toBe(500);
    } finally {
      await client.close();
    }
  });

  it('does not hold a slot while backing off', async () => {
    const sick = await startFault('unavailableThenOk');
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const backoff = new Promise<void>((resolve) => (release = resolve));
    const sleeping = new Promise<void>((resolve) => (entered = resolve));
    const sleep = () => {
      entered();
      return backoff;
    };
    const client = createSiteClient({
      timeoutMs: 5000,
      retries: 1,
      concurrency: 1,
      env: {},
      clock: { sleep },
    });
    try {
      const sickCall = client.getHealth(sick.url);
      await sleeping;
      // The sick site is backing off and the backoff never ends until released: if it held the only
      // slot, this request would never be sent.
      const other = await client.getHealth(sites[0]!.url);
      expect(other.attempts).toBe(1);
      release();
      expect((await sickCall).attempts).toBe(2);
    } finally {
      await client.close();
      await sick.close();
    }
  });
});
