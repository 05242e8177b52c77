import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG, type ErrorCode } from '../../src/protocol/error-catalog.js';
import { SiteError } from '../../src/engine/site-error.js';
import { createSiteClient, type SiteClient } from '../../src/engine/site-client.js';
import { fakeKey, startFaultFleet, type FaultFleet, type FleetSite } from '../fault-fleet/index.js';

/**
 * Every client-side code of the catalog, produced by a real misbehaving server and classified by the
 * real client (retries off, so each row is one request). verify_mismatch is the push pipeline's
 * verdict, not a transport one: here we only prove the stale site that provokes it behaves.
 */
let fleet: FaultFleet;
let client: SiteClient;

beforeAll(async () => {
  fleet = await startFaultFleet();
  client = createSiteClient({ timeoutMs: 300, retries: 0, concurrency: 8, ca: fleet.ca, env: {} });
});
afterAll(async () => {
  await client.close();
  await fleet.close();
});

type Row = {
  site: FleetSite | string;
  call: 'health' | 'pk' | 'putSk';
  code: ErrorCode;
  status: number | null;
};

const ROWS: Row[] = [
  { site: 'timeout', call: 'health', code: 'timeout', status: null },
  { site: 'refused', call: 'health', code: 'connection_refused', status: null },
  { site: 'reset', call: 'health', code: 'connection_reset', status: null },
  { site: 'hangup', call: 'health', code: 'connection_reset', status: null },
  { site: 'dns', call: 'health', code: 'dns_not_found', status: null },
  { site: 'tlsSelfSigned', call: 'health', code: 'tls_error', status: null },
  { site: 'tlsExpired', call: 'health', code: 'tls_error', status: null },
  { site: 'unauthorized', call: 'putSk', code: 'invalid_api_key', status: 401 },
  { site: 'badSecret', call: 'putSk', code: 'invalid_secret_format', status: 400 },
  { site: 'rateLimitedThenOk', call: 'pk', code: 'too_many_attempts', status: 429 },
  { site: 'notFoundHtml', call: 'pk', code: 'endpoint_not_found', status: 404 },
  { site: 'badGatewayHtml', call: 'health', code: 'bad_gateway', status: 502 },
  { site: 'alwaysUnavailable', call: 'health', code: 'service_unavailable', status: 503 },
  { site: 'gatewayTimeoutHtml', call: 'health', code: 'gateway_timeout', status: 504 },
  { site: 'serverErrorHtml', call: 'health', code: 'server_error', status: 500 },
  { site: 'notJson', call: 'putSk', code: 'unexpected_response', status: 200 },
  { site: 'html200', call: 'pk', code: 'unexpected_response', status: 200 },
  { site: 'redirect', call: 'health', code: 'unexpected_response', status: 301 },
  { site: 'http://example.com', call: 'health', code: 'insecure_url', status: null },
];

function run(row: Row): Promise<unknown> {
  const url = row.site.includes('://') ? row.site : fleet.urls[row.site as FleetSite];
  if (row.call === 'health') return client.getHealth(url);
  if (row.call === 'pk') return client.getPublishableKey(url);
  return client.putSetting(url, 'stripe_secret_key', fakeKey('sk_test'), fleet.apiKey);
}

async function failure(row: Row): Promise<SiteError> {
  const err = await run(row).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SiteError);
  return err as SiteError;
}

describe('every fault gets exactly its code', () => {
  it.each(ROWS)('$site → $code', async (row) => {
    const err = await failure(row);
    expect({ code: err.code, status: err.httpStatus }).toEqual({ code: row.code, status: row.status });
    expect(err.hint).toBe(ERROR_CATALOG[row.code].hint);
    expect(err.attempts).toBe(row.code === 'insecure_url' ? 0 : 1);
    expect(err.toJSON()).toEqual({
      code: row.code,
      http_status: row.status,
      message: err.message,
      hint: err.hint,
    });
  });

  // verify_mismatch is the pipeline's verdict, not the transport's; a 400 invalid_publishable_key_format
  // takes the same path as the invalid_secret_format row (the site's documented code wins).
  it("covers every code of DESIGN §2's push catalogue but the pipeline's", () => {
    const design: ErrorCode[] = [
      'invalid_api_key', 'invalid_secret_format', 'invalid_publishable_key_format', 'too_many_attempts', 'timeout',
      'connection_refused', 'connection_reset', 'dns_not_found', 'tls_error', 'endpoint_not_found', 'bad_gateway',
      'service_unavailable', 'gateway_timeout', 'server_error', 'unexpected_response', 'verify_mismatch', 'insecure_url',
    ];
    expect(design.every((c) => c in ERROR_CATALOG)).toBe(true);
    const covered = new Set(ROWS.map((r) => r.code));
    expect(design.filter((c) => !covered.has(c))).toEqual(['invalid_publishable_key_format', 'verify_mismatch']);
  });

  it('tells which certificate problem it met', async () => {
    const expired = await failure({ site: 'tlsExpired', call: 'health', code: 'tls_error', status: null });
    expect(expired.message).toContain('CERT_HAS_EXPIRED');
    const selfSigned = await failure({
      site: 'tlsSelfSigned',
      call: 'health',
      code: 'tls_error',
      status: null,
    });
    expect(selfSigned.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it("says a template's documented message once, not twice", async () => {
    const err = await failure({
      site: 'badSecret',
      call: 'putSk',
      code: 'invalid_secret_format',
      status: 400,
    });
    expect(err.message.split(ERROR_CATALOG.invalid_secret_format.message)).toHaveLength(2);
  });
});

describe('the well-behaved and the stale site', () => {
  it('reads null, not an error, when a site has no publishable key', async () => {
    const { value, attempts } = await client.getPublishableKey(fleet.urls.good);
    expect({ value, attempts }).toEqual({ value: null, attempts: 1 });
  });

  it('lets a stale site accept a push and keep serving the old key (verify_mismatch material)', async () => {
    const pushed = fakeKey('pk_test');
    await client.putSetting(fleet.urls.stale, 'stripe_publishable_key', pushed, fleet.apiKey);
    const { value } = await client.getPublishableKey(fleet.urls.stale);
    expect(value).toBe(fleet.stalePublishableKey);
    expect(value).not.toBe(pushed);
  });
});
