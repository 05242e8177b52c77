import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { startFakeStripe, type FakeStripe } from '../fake-stripe/server.js';
import { makeKey } from '../helpers/keys.js';
import { runKeyfleet, type CliRun } from '../helpers/run-keyfleet.js';

/**
 * `keyfleet validate --check-stripe`: one read-only Stripe call (GET /v1/balance) against the
 * Stripe-compatible fake, proving the key works and that Stripe's `livemode` matches its prefix.
 * Refusals exit 2 with the catalog's fix; a malformed key is never sent; nothing leaks.
 */
let fake: FakeStripe;
let liar: Server;
let liarUrl: string;
const secrets: string[] = [];
const outputs: CliRun[] = [];

beforeAll(async () => {
  fake = await startFakeStripe({ echoKeyInErrors: true });
  // A Stripe-compatible host that answers livemode: true whatever the key: a proxy to the wrong account.
  liar = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'balance', available: [], pending: [], livemode: true }));
  });
  await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
  liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await fake.close();
  await new Promise((resolve) => liar.close(resolve));
});

function sk(mode: 'test' | 'live' = 'test'): string {
  const value = makeKey('sk', mode);
  secrets.push(value);
  return value;
}

async function check(env: Record<string, string>, base = fake.url): Promise<CliRun> {
  const run = await runKeyfleet(['validate', '--check-stripe', '--json'], {
    env: { STRIPE_API_BASE: base, ...env },
  });
  outputs.push(run);
  return run;
}

type Doc = { ok: boolean; problems: Array<{ code: string; message: string; hint: string }>; stripe: unknown };

describe('--check-stripe', () => {
  it.each(['test', 'live'] as const)(
    'passes a working %s key, with one GET /v1/balance made with it',
    async (mode) => {
      const key = sk(mode);
      const before = fake.requests.length;
      const run = await check({ STRIPE_SECRET_KEY: key });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        ok: true,
        mode,
        stripe: { checked: true, livemode: mode === 'live' },
      });
      expect(fake.requests.slice(before)).toEqual([
        expect.objectContaining({ method: 'GET', path: '/v1/balance', keyFingerprint: fingerprint(key) }),
      ]);
    },
  );

  it('says so in the human report', async () => {
    const run = await runKeyfleet(['validate', '--check-stripe'], {
      env: { STRIPE_API_BASE: fake.url, STRIPE_SECRET_KEY: sk() },
    });
    outputs.push(run);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('✔ Stripe accepted the secret key (test mode)');
  });

  it('exits 2 with stripe_auth_failed and the fix for a revoked key', async () => {
    const key = sk('live');
    fake.revoke(key);
    const run = await check({ STRIPE_SECRET_KEY: key });
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as Doc;
    expect(doc.problems).toEqual([
      expect.objectContaining({
        code: 'stripe_auth_failed',
        hint: expect.stringContaining('https://dashboard.stripe.com/apikeys'),
      }),
    ]);
  });

  it('exits 2 with stripe_mode_mismatch when Stripe answers in the other mode than the prefix says', async () => {
    const run = await check({ STRIPE_SECRET_KEY: sk('test') }, liarUrl);
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as Doc;
    expect(doc.problems.map((p) => p.code)).toEqual(['stripe_mode_mismatch']);
    expect(doc.problems[0]?.message).toMatch(/^Stripe answered in live mode for sk_test_…\w{4}, a test key$/);
  });

  it('exits 2 with stripe_unreachable when nothing answers', async () => {
    const gone = await startFakeStripe();
    await gone.close();
    const run = await check({ STRIPE_SECRET_KEY: sk() }, gone.url);
    expect(run.code).toBe(2);
    const [problem] = (JSON.parse(run.stdout) as Doc).problems;
    expect(problem).toMatchObject({
      code: 'stripe_unreachable',
      hint: expect.stringContaining("this machine's network"),
    });
    expect(problem?.message).toMatch(/^could not reach Stripe to check sk_test_…\w{4}: .*ECONNREFUSED/);
  });

  it('does not send a malformed key, reporting only its format problem', async () => {
    const before = fake.requests.length;
    const run = await check({ STRIPE_SECRET_KEY: `${sk()}\n` });
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as Doc;
    expect(doc.problems.map((p) => p.code)).toEqual(['invalid_secret_format']);
    expect(doc.stripe).toEqual({
      checked: false,
      livemode: null,
      reason: 'not called: the secret key is malformed',
    });
    expect(fake.requests.length).toBe(before);
  });

  it('needs a secret key to check', async () => {
    const run = await check({ STRIPE_PUBLISHABLE_KEY: makeKey('pk') });
    expect(run.code).toBe(2);
    expect((JSON.parse(run.stdout) as Doc).problems.map((p) => p.code)).toEqual(['check_stripe_needs_sk']);
  });

  it('exits 2 with a clear message for a STRIPE_API_BASE with a path', async () => {
    const run = await check({ STRIPE_SECRET_KEY: sk() }, `${fake.url}/v1`);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^keyfleet: STRIPE_API_BASE must not have a path/);
  });

  it('printed no secret key in any run above, though the fake echoes keys in its errors', () => {
    const all = outputs.map((o) => o.stdout + o.stderr).join('\n');
    expect(outputs.length).toBeGreaterThanOrEqual(8);
    for (const key of secrets) {
      expect(all).not.toContain(key);
      expect(all).not.toContain(key.slice(8, 20));
    }
  });
});
