import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROUTES, settingPath } from '../../src/protocol/routes.js';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { checkMasterKeys, ConfigError } from '../../src/template/config.js';
import { startFakeStripe, type FakeStripe } from '../fake-stripe/server.js';
import { startTestSite, testDatabase, type TestSite } from '../helpers/template-site.js';
import { spawnTemplateSite } from '../helpers/spawn-site.js';
import { MASTER_KEY, makeKey, makeWebhookSecret } from '../helpers/keys.js';

const auth = { 'x-api-key': MASTER_KEY, 'content-type': 'application/json' };

/** Issue 12, the template site's items: what an attacker tried, now refused. */
describe('template site hardening (issue 12)', () => {
  let site: TestSite | undefined;
  let stripe: FakeStripe | undefined;
  afterEach(async () => {
    await site?.close();
    await stripe?.close();
    site = stripe = undefined;
  });

  it('a fresh SQLite site seals secrets with a 0600 key file it creates; the database and its WAL hold no secret in clear', async () => {
    const db = testDatabase('sqlite');
    const store = await db.open();
    const dbPath = (store as unknown as { path: string }).path;
    await store.close();
    site = await startTestSite({ db });
    const sk = makeKey('sk', 'live');
    const wh = makeWebhookSecret();
    const res = await site.app.inject({
      method: 'PUT',
      url: ROUTES.settings,
      headers: auth,
      payload: JSON.stringify({ values: { stripe_secret_key: sk, stripe_webhook_secret: wh, stripe_publishable_key: makeKey('pk', 'live') } }),
    });
    expect(res.statusCode).toBe(200);
    expect((await site.app.inject({ method: 'PUT', url: settingPath('stripe_secret_key'), headers: auth, payload: JSON.stringify({ value: sk }) })).statusCode).toBe(200);

    const keyFile = `${dbPath}.key`;
    expect(existsSync(keyFile)).toBe(true);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(site.logs.text()).toContain(`created the encryption key ${keyFile} (mode 0600)`);
    const dir = join(dbPath, '..');
    const files = readdirSync(dir).filter((f) => f.startsWith('template.db'));
    expect(files).toEqual(expect.arrayContaining(['template.db', 'template.db-wal', 'template.db.key']));
    for (const f of files) {
      const bytes = readFileSync(join(dir, f));
      expect(bytes.includes(sk), f).toBe(false);
      expect(bytes.includes(wh), f).toBe(false);
      expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
    }
    // The next start finds the key file and reads the secret back.
    await site.restart();
    const view = (await site.app.inject({ url: ROUTES.healthStripe, headers: { 'x-api-key': MASTER_KEY } })).json();
    expect(view.keys.stripe_secret_key.fingerprint).toBe(fingerprint(sk));
    expect(site.logs.text()).not.toContain(sk);
  });

  it('on Postgres without TEMPLATE_ENCRYPTION_KEY it starts but warns loudly that secrets are in clear', async () => {
    site = await startTestSite({ backend: 'postgres' });
    expect(site.logs.text()).toMatch(/SECRETS ARE STORED IN CLEAR TEXT.*TEMPLATE_ENCRYPTION_KEY/);
  });

  it('refuses a weak master key with the fix, and accepts every key the troubleshooting guide sets', () => {
    expect(() => checkMasterKeys(['abc'])).toThrow(ConfigError);
    expect(() => checkMasterKeys(['abc'])).toThrow(/too short \(3 characters; at least 32\).*openssl rand -base64 32/);
    expect(() => checkMasterKeys([MASTER_KEY, 'short'])).toThrow(/value 2 of TEMPLATE_MASTER_API_KEY/);
    expect(() => checkMasterKeys(['has a space in it, long enough'])).toThrow(/whitespace/);
    // Issue 12: under 32 characters is refused, the guide's example keys too (they are examples), with the fix.
    for (const guideKey of ['new-master-key-2025', 'your-master-key-here', 'x'.repeat(31)]) {
      expect(() => checkMasterKeys([guideKey]), guideKey).toThrow(/too short .*openssl rand -base64 32/);
    }
    expect(() => checkMasterKeys([MASTER_KEY, 'k'.repeat(32)])).not.toThrow();
  });

  it('a site configured with TEMPLATE_MASTER_API_KEY=abc does not start', async () => {
    await expect(startTestSite({ config: { masterKeys: ['abc'] } })).rejects.toThrow(/TEMPLATE_MASTER_API_KEY is too short/);
  });

  it('`keyfleet template` with TEMPLATE_MASTER_API_KEY=abc exits 2 with the fix', async () => {
    const err = await spawnTemplateSite({ TEMPLATE_MASTER_API_KEY: 'abc' }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/TEMPLATE_MASTER_API_KEY is too short \(3 characters; at least 32\)\. Generate one with: openssl rand -base64 32/);
    expect(err?.message).toMatch(/exited \(2\)/);
  });

  it("checkout never builds Stripe's return URLs from a Host that is not PUBLIC_URL or allowed", async () => {
    stripe = await startFakeStripe();
    site = await startTestSite({ config: { stripeApiBase: stripe.url, publicUrl: undefined, allowedHosts: ['shop.example.fr', '*.example.org'] } });
    await site.app.inject({ method: 'PUT', url: settingPath('stripe_secret_key'), headers: auth, payload: JSON.stringify({ value: makeKey('sk') }) });
    const launch = (host: string, remoteAddress = '10.1.1.1') =>
      site!.app.inject({
        method: 'POST',
        url: ROUTES.launch,
        headers: { host, 'content-type': 'application/json' },
        remoteAddress,
        payload: JSON.stringify({ domain: 'shop.example.fr', email: 'owner@example.fr', type: 'standard' }),
      });
    const evil = await launch('attacker.example.com');
    expect(evil.statusCode).toBe(400);
    expect(evil.json()).toMatchObject({ error: 'checkout_host_not_allowed' });
    expect(evil.json().message).toMatch(/PUBLIC_URL/);
    expect(stripe.requests).toHaveLength(0);
    for (const [host, i] of [['shop.example.fr', 2], ['pay.example.org', 3], ['127.0.0.1:5000', 4]] as const) {
      const ok = await launch(host, `10.1.1.${i}`);
      expect(ok.statusCode, host).toBe(200);
      expect(JSON.stringify(stripe.requests.at(-1)?.form)).toContain(`http://${host}/?checkout=success`);
    }
    expect((await launch('evil-example.org')).statusCode).toBe(400);
  });

  it('checkout is rate limited per address (429 rate_limited with Retry-After)', async () => {
    stripe = await startFakeStripe();
    site = await startTestSite({ config: { stripeApiBase: stripe.url, publicUrl: 'https://site.example.fr', checkoutPerMinute: 3 } });
    await site.app.inject({ method: 'PUT', url: settingPath('stripe_secret_key'), headers: auth, payload: JSON.stringify({ value: makeKey('sk') }) });
    const launch = (remoteAddress: string) =>
      site!.app.inject({
        method: 'POST',
        url: ROUTES.launch,
        headers: { 'content-type': 'application/json' },
        remoteAddress,
        payload: JSON.stringify({ domain: 'shop.example.fr', email: 'owner@example.fr', type: 'standard' }),
      });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await launch('10.2.0.1')).statusCode);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const limited = await launch('10.2.0.1');
    expect(limited.json().error).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await launch('10.2.0.2')).statusCode).toBe(200);
    expect(stripe.requests.filter((r) => r.path === '/v1/checkout/sessions')).toHaveLength(4);
  });

  it('the /metrics token is checked in constant time and wrong tokens are rate limited', async () => {
    const token = 'metrics-token-0123456789abcdefghij';
    site = await startTestSite({ config: { metricsToken: token, authFailureLimit: 3 } });
    const scrape = (authorization?: string, remoteAddress = '10.3.0.1') =>
      site!.app.inject({ url: ROUTES.metrics, headers: authorization ? { authorization } : {}, remoteAddress });
    expect((await scrape(`Bearer ${token}`)).statusCode).toBe(200);
    const codes = [];
    for (const guess of ['Bearer x', `Bearer ${token.slice(0, -1)}`, 'Bearer ', `Bearer ${token}x`, `bearer ${token}`]) codes.push((await scrape(guess)).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    expect((await scrape(`Bearer ${token}`)).statusCode).toBe(429); // locked out for the window, right token or not
    expect((await scrape(`Bearer ${token}`, '10.3.0.2')).statusCode).toBe(200);
  });
});

describe('slow and numerous clients are bounded (issue 12)', () => {
  let site: TestSite;
  afterEach(async () => site.close());

  const open = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
  const collect = (s: Socket) => {
    let data = '';
    s.on('data', (d: Buffer) => (data += d.toString('utf8')));
    const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
    return { text: () => data, closed };
  };

  it('answers 401 to an unauthenticated PUT without waiting for its body, and closes the connection', async () => {
    site = await startTestSite();
    await site.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (site.app.server.address() as AddressInfo).port;
    const s = await open(port);
    const got = collect(s);
    // Headers only: the 1,000-byte body never comes.
    s.write(`PUT ${settingPath('stripe_secret_key')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-API-Key: wrong-key-0123456789abcdef\r\n\r\n{"value":`);
    await got.closed;
    expect(got.text()).toMatch(/^HTTP\/1\.1 401/);
    expect(got.text()).toMatch(/connection: close/i);
    expect(got.text()).toContain('invalid_api_key');
  });

  it('drops an authenticated request whose body does not arrive within TEMPLATE_REQUEST_TIMEOUT_MS', async () => {
    site = await startTestSite({ config: { requestTimeoutMs: 300, headersTimeoutMs: 300 } });
    await site.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (site.app.server.address() as AddressInfo).port;
    const s = await open(port);
    const got = collect(s);
    s.write(`PUT ${settingPath('stripe_secret_key')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-API-Key: ${MASTER_KEY}\r\n\r\n{"value":`);
    await got.closed; // bounded by the request timeout (the test's own timeout is the backstop)
    expect(got.text()).not.toMatch(/^HTTP\/1\.1 200/);
    expect((await site.app.inject({ url: ROUTES.healthStripe })).json().secret_key_configured).toBe(false);
  });

  it('refuses connections beyond TEMPLATE_MAX_CONNECTIONS', async () => {
    site = await startTestSite({ config: { maxConnections: 2 } });
    await site.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (site.app.server.address() as AddressInfo).port;
    const held = [await open(port), await open(port)];
    // Both held connections are accepted first (a request answered on each).
    for (const s of held) {
      const got = collect(s);
      s.write('GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise<void>((resolve) => {
        const check = () => (got.text().includes('\r\n\r\n') ? resolve() : s.once('data', check));
        check();
      });
    }
    const third = await open(port);
    const got = collect(third);
    third.write('GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n');
    await got.closed;
    expect(got.text()).toBe('');
    for (const s of held) s.destroy();
  });
});
