import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSiteClient, type RequestEvent, type SiteClient } from '../../src/engine/site-client.js';
import { SiteError, redact } from '../../src/engine/site-error.js';
import { fakeKey, startFault, type FaultServer } from '../fault-fleet/index.js';

/**
 * A secret never appears in an error message, its JSON, its stack or a --verbose event (DESIGN.md §1),
 * even when the site echoes back everything it was sent. The check is a plain substring grep for each
 * value sent.
 */
let leaky: FaultServer;
let client: SiteClient;
const events: RequestEvent[] = [];

beforeAll(async () => {
  leaky = await startFault('leaky');
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
  await leaky.close();
});

async function caught(p: Promise<unknown>): Promise<SiteError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SiteError);
  return err as SiteError;
}

function everythingPrinted(err: SiteError): string {
  return [
    err.message,
    err.stack ?? '',
    JSON.stringify(err),
    String(err),
    inspect(err, { depth: 5 }),
    JSON.stringify(events),
  ].join('\n');
}

describe('secrets stay out of errors', () => {
  it('masks the API key and the pushed secret a site echoes back', async () => {
    const apiKey = fakeKey('api');
    const secret = fakeKey('sk_live');
    const err = await caught(client.putSetting(leaky.url, 'stripe_secret_key', secret, apiKey));
    // The site really did echo both: otherwise this test could not fail.
    expect(leaky.requests.at(-1)?.body).toContain(secret);
    expect(err.code).toBe('invalid_secret_format');
    const printed = everythingPrinted(err);
    expect(printed).not.toContain(apiKey);
    expect(printed).not.toContain(secret);
    // Issue 12: a request that carried a secret keeps none of the site's own text, masked or not.
    expect(err.message).not.toContain('…');
    expect(err.message).toMatch(/HTTP 400\)$/);
  });

  it('masks the old and the new key of a rotation', async () => {
    const apiKey = fakeKey('api');
    const newKey = fakeKey('api', 48);
    const err = await caught(client.rotateCredentials(leaky.url, apiKey, newKey));
    const printed = everythingPrinted(err);
    expect(printed).not.toContain(apiKey);
    expect(printed).not.toContain(newKey);
  });

  it('masks a webhook secret the site echoes', async () => {
    const secret = fakeKey('whsec');
    const err = await caught(client.putSetting(leaky.url, 'stripe_webhook_secret', secret, fakeKey('api')));
    expect(everythingPrinted(err)).not.toContain(secret);
  });
});

describe('redact', () => {
  it('masks given values and anything secret-shaped, leaving other text alone', () => {
    const key = 'an-api-key-of-some-length-1234';
    const sk = fakeKey('sk_test');
    const out = redact(`key=${key} other=${sk} pk=pk_test_public`, [key]);
    expect(out).not.toContain(key);
    expect(out).not.toContain(sk);
    expect(out).toContain('pk=pk_test_public');
  });

  it('redacts a secret before a long detail is cut, so no half of it survives', () => {
    const key = fakeKey('api', 60);
    const err = new SiteError({
      code: 'invalid_api_key',
      url: 'https://x',
      detail: `${'x'.repeat(180)}${key}`,
      secrets: [key],
    });
    expect(err.message).not.toContain(key.slice(0, 20));
  });
});
