import { afterEach, describe, expect, it } from 'vitest';
import { FailureLimiter } from '../../src/template/auth.js';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

describe('X-API-Key checks and the failed-auth limiter', () => {
  let site: TestSite;
  afterEach(async () => site.close());

  const put = (key: string, remoteAddress = '127.0.0.1') =>
    site.app.inject({
      method: 'PUT',
      url: settingPath('stripe_publishable_key'),
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      payload: JSON.stringify({ value: makeKey('pk') }),
      remoteAddress,
    });

  it('accepts every key of a comma-separated TEMPLATE_MASTER_API_KEY (a rotation in progress)', async () => {
    const second = 'second-master-key-abcdefghijklmnopqrstuvwxyz';
    site = await startTestSite({ config: { masterKeys: [MASTER_KEY, second] } });
    expect((await put(MASTER_KEY)).statusCode).toBe(200);
    expect((await put(second)).statusCode).toBe(200);
    expect((await put(`${MASTER_KEY}x`)).statusCode).toBe(401);
  });

  it('accepts nothing when no key is configured', async () => {
    site = await startTestSite({ config: { masterKeys: [] } });
    expect((await put('')).statusCode).toBe(401);
    expect((await put('anything')).statusCode).toBe(401);
  });

  it('gives 429 too_many_attempts with Retry-After after 10 failures a minute, per address', async () => {
    site = await startTestSite();
    for (let i = 0; i < 10; i++) expect((await put(`wrong-${i}`, '10.9.9.9')).statusCode).toBe(401);
    const locked = await put('wrong-again', '10.9.9.9');
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error).toBe('too_many_attempts');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Even the right key is refused from a locked-out address; other addresses are unaffected.
    expect((await put(MASTER_KEY, '10.9.9.9')).statusCode).toBe(429);
    expect((await put(MASTER_KEY, '10.9.9.8')).statusCode).toBe(200);
  });

  it('never echoes the presented key nor creates one on failure', async () => {
    site = await startTestSite();
    const attempt = 'attacker-guess-0123456789abcdefghijkl';
    const res = await put(attempt);
    expect(res.body).not.toContain(attempt);
    const health = await site.app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': attempt } });
    expect(health.statusCode).toBe(401);
    const store = await site.db.open();
    expect(await store.getAll()).toEqual([]);
    await store.close();
  });

  it('forgets failures once the minute has passed', () => {
    let now = 0;
    const limiter = new FailureLimiter(10, 60_000, () => now);
    for (let i = 0; i < 11; i++) limiter.recordFailure('a');
    expect(limiter.retryAfter('a')).toBe(60);
    now = 30_000;
    expect(limiter.retryAfter('a')).toBe(30);
    now = 60_000;
    expect(limiter.retryAfter('a')).toBe(0);
    limiter.recordFailure('a');
    expect(limiter.retryAfter('a')).toBe(0);
  });
});
