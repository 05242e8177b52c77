import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSiteClient, type SiteClient } from '../../src/engine/site-client.js';
import type { SiteError } from '../../src/engine/site-error.js';
import {
  fakeKey,
  startFault,
  startFaultFleet,
  type FaultFleet,
  type FaultName,
} from '../fault-fleet/index.js';

/**
 * Retries wrap the client: timeouts, resets, refusals, 429, 502, 503 and 504 are tried again up to
 * the limit; 400, 401, 404, TLS and DNS failures never are, because the same request gets the same
 * answer. Sleeps are injected and recorded, so no test waits for real backoff.
 */
let fleet: FaultFleet;
const delays: number[] = [];
const clients: SiteClient[] = [];

function client(retries: number): SiteClient {
  const c = createSiteClient({
    timeoutMs: 300,
    retries,
    concurrency: 4,
    ca: fleet.ca,
    env: {},
    clock: { sleep: async (ms) => void delays.push(ms), random: () => 0.5 },
  });
  clients.push(c);
  return c;
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as SiteError,
  );

beforeAll(async () => {
  fleet = await startFaultFleet();
});
afterEach(() => {
  delays.length = 0;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await fleet.close();
});

describe('safe failures are retried', () => {
  it('recovers from a 503 on the second attempt and reports 2 attempts', async () => {
    const server = await startFault('unavailableThenOk');
    try {
      const result = await client(2).getHealth(server.url);
      expect(result.attempts).toBe(2);
      expect(server.calls).toBe(2);
      expect(delays).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it.each<[FaultName, string]>([
    ['badGatewayHtml', 'bad_gateway'],
    ['alwaysUnavailable', 'service_unavailable'],
    ['gatewayTimeoutHtml', 'gateway_timeout'],
    ['reset', 'connection_reset'],
    ['hangup', 'connection_reset'],
  ])('%s is tried retries + 1 times, then fails with %s', async (fault, code) => {
    const server = await startFault(fault);
    try {
      const err = await rejection(client(2).getHealth(server.url));
      expect({ code: err.code, attempts: err.attempts, calls: server.calls }).toEqual({
        code,
        attempts: 3,
        calls: 3,
      });
      expect(delays).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('retries a timeout', async () => {
    const server = await startFault('timeout');
    try {
      const err = await rejection(client(1).getHealth(server.url));
      expect({ code: err.code, attempts: err.attempts, calls: server.calls }).toEqual({
        code: 'timeout',
        attempts: 2,
        calls: 2,
      });
    } finally {
      await server.close();
    }
  });

  it('retries a refused connection', async () => {
    const err = await rejection(client(2).getHealth(fleet.urls.refused));
    expect({ code: err.code, attempts: err.attempts }).toEqual({ code: 'connection_refused', attempts: 3 });
  });

  it('makes exactly one attempt with --retries 0', async () => {
    const server = await startFault('badGatewayHtml');
    try {
      const err = await rejection(client(0).getHealth(server.url));
      expect({ attempts: err.attempts, calls: server.calls, delays: delays.length }).toEqual({
        attempts: 1,
        calls: 1,
        delays: 0,
      });
    } finally {
      await server.close();
    }
  });
});

describe('unsafe failures are never retried', () => {
  it.each<[FaultName, string]>([
    ['unauthorized', 'invalid_api_key'],
    ['badSecret', 'invalid_secret_format'],
    ['notFoundHtml', 'endpoint_not_found'],
    ['serverErrorHtml', 'server_error'],
    ['notJson', 'unexpected_response'],
  ])('%s fails after one request with %s', async (fault, code) => {
    const server = await startFault(fault);
    try {
      const err = await rejection(
        client(5).putSetting(server.url, 'stripe_secret_key', fakeKey('sk_test'), fleet.apiKey),
      );
      expect({ code: err.code, attempts: err.attempts, calls: server.calls }).toEqual({
        code,
        attempts: 1,
        calls: 1,
      });
      expect(delays).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it.each(['tlsSelfSigned', 'tlsExpired', 'dns'] as const)('%s fails after one attempt', async (site) => {
    const err = await rejection(client(5).getHealth(fleet.urls[site]));
    expect(err.attempts).toBe(1);
    expect(delays).toEqual([]);
  });
});
