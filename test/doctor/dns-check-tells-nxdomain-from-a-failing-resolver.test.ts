import { afterEach, describe, expect, it, vi } from 'vitest';

/**
 * NXDOMAIN (the name does not exist: fix the domain) and a resolver that does not answer (fix the
 * DNS server; the name may be fine) need different fixes. A failing resolver cannot be produced on
 * loopback, so here the system lookup is replaced; the real NXDOMAIN path (a `.invalid` name) is
 * covered end to end by the fault-fleet test.
 */
const lookup = vi.fn();
vi.mock('node:dns/promises', () => ({ lookup: (...args: unknown[]) => lookup(...args) }));

const { checkDns } = await import('../../src/doctor/dns-check.js');
const { newSiteRun } = await import('../../src/doctor/check.js');
const { createInFlightLimit } = await import('../../src/engine/in-flight-limit.js');
type Ctx = Parameters<typeof checkDns>[1];

const ctx = { http: { limit: createInFlightLimit(2) }, timeoutMs: 200 } as unknown as Ctx;
function site(url: string) {
  const run = newSiteRun(url, null, 'TEMPLATE_MASTER_API_KEY');
  run.url = new URL(url);
  return run;
}
const errno = (code: string) => Object.assign(new Error(`getaddrinfo ${code} shop.example.fr`), { code });

afterEach(() => lookup.mockReset());

describe('the DNS check', () => {
  it('lists A and AAAA answers', async () => {
    lookup.mockResolvedValue([
      { address: '2001:db8::1', family: 6 },
      { address: '192.0.2.10', family: 4 },
    ]);
    const run = site('https://shop.example.fr');
    expect(await checkDns(run, ctx)).toEqual({
      status: 'pass',
      detail: 'shop.example.fr → 2001:db8::1 (AAAA), 192.0.2.10 (A)',
    });
    expect(run.addresses).toEqual(['2001:db8::1', '192.0.2.10']);
  });

  it('ENOTFOUND is dns_not_found', async () => {
    lookup.mockRejectedValue(errno('ENOTFOUND'));
    expect(await checkDns(site('https://shop.example.fr'), ctx)).toMatchObject({
      status: 'fail',
      code: 'dns_not_found',
    });
  });

  it.each(['EAI_AGAIN', 'ESERVFAIL', 'ECONNREFUSED'])('%s is dns_resolver_failed', async (code) => {
    lookup.mockRejectedValue(errno(code));
    const outcome = await checkDns(site('https://shop.example.fr'), ctx);
    expect(outcome).toMatchObject({ status: 'fail', code: 'dns_resolver_failed' });
    expect(outcome.detail).toContain(code);
  });

  it('a resolver that never answers is dns_resolver_failed after --timeout', async () => {
    lookup.mockReturnValue(new Promise(() => undefined));
    expect(await checkDns(site('https://shop.example.fr'), ctx)).toMatchObject({
      status: 'fail',
      code: 'dns_resolver_failed',
      detail: 'no answer for shop.example.fr within 200 ms',
    });
  });

  it('an IP address needs no lookup', async () => {
    expect(await checkDns(site('https://[::1]:8443'), ctx)).toMatchObject({ status: 'pass' });
    expect(lookup).not.toHaveBeenCalled();
  });
});
