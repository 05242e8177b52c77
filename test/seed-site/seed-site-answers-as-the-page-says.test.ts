import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { startSeedSite, type SeedSite } from './seed-site.js';

const sh = promisify(execFile);
const GUIDE = new URL('../fixtures/guide/', import.meta.url).pathname;

/** The simulator against SEED_TEMPLATE.md, request by request, and the guide's own scripts on it. */
describe('the seed-site simulator answers as SEED_TEMPLATE.md says', () => {
  const sites: SeedSite[] = [];
  const start = async (o: Partial<Parameters<typeof startSeedSite>[0]> = {}) => {
    const s = await startSeedSite({ masterKey: MASTER_KEY, ...o });
    sites.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(sites.splice(0).map((s) => s.close()));
  });
  const put = (url: string, name: string, body: string, key?: string) =>
    fetch(`${url}/api/export/settings/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'x-api-key': key }) }, body });
  const text = async (r: Response) => [r.status, await r.text()] as const;

  it('publishable key routes: 404 with message, sorted compact JSON, CORS only on the export route', async () => {
    const s = await start();
    expect(await text(await fetch(`${s.url}/api/stripe-pk`))).toEqual([404, '{"message":"no_publishable_key","success":false}']);
    expect(await text(await fetch(`${s.url}/api/export/settings/stripe_publishable_key`))).toEqual([404, '{"error":"not_found","success":false}']);
    expect(await text(await put(s.url, 'stripe_publishable_key', '{"value":"pk_test_abc"}'))).toEqual([401, '{"error":"API key manquante","success":false}']);
    expect(await text(await put(s.url, 'stripe_publishable_key', '{"value":"pk_test_abc"}', MASTER_KEY))).toEqual([200, '{"message":"stripe_publishable_key mis \\u00e0 jour","success":true}']);
    const pk = await fetch(`${s.url}/api/stripe-pk`);
    expect(pk.headers.get('access-control-allow-origin')).toBeNull();
    const exported = await fetch(`${s.url}/api/export/settings/stripe_publishable_key`);
    expect(exported.headers.get('access-control-allow-origin')).toBe('*');
    expect(await exported.text()).toBe('{"publishable_key":"pk_test_abc","success":true}');
    expect(await text(await put(s.url, 'stripe_publishable_key', '{"value":""}', MASTER_KEY))).toEqual([400, '{"error":"Valeur manquante","success":false}']);
    expect(await text(await put(s.url, 'stripe_publishable_key', '{"value":"sk_test_abc"}', MASTER_KEY))).toEqual([400, '{"error":"invalid_publishable_format","success":false}']);
    expect((await put(s.url, 'stripe_publishable_key', '{"value":123}', MASTER_KEY)).status).toBe(500);
    expect((await put(s.url, 'stripe_publishable_key', 'not json', MASTER_KEY)).status).toBe(500);
  });

  it('secret, price and any other name; the secret is never readable; rk_ is refused', async () => {
    const s = await start();
    const sk = makeKey('sk');
    expect(await text(await put(s.url, 'stripe_secret_key', JSON.stringify({ value: sk }), 'wrong'))).toEqual([401, '{"error":"invalid_api_key","success":false}']);
    expect(await text(await put(s.url, 'stripe_secret_key', JSON.stringify({ value: 'rk_test_abc' }), MASTER_KEY))).toEqual([400, '{"error":"invalid_secret_format","success":false}']);
    expect(await text(await put(s.url, 'stripe_secret_key', JSON.stringify({ value: sk }), MASTER_KEY))).toEqual([200, '{"message":"secret_saved","success":true}']);
    expect(await text(await fetch(`${s.url}/api/export/settings/stripe_secret_key`))).toEqual([404, '{"error":"not_found"}']);
    expect(await text(await put(s.url, 'stripe_price_id', '{"value":"price-1"}', MASTER_KEY))).toEqual([400, '{"error":"invalid_price_id_format","success":false}']);
    expect((await put(s.url, 'stripe_price_id', '{"value":"price_1"}', MASTER_KEY)).status).toBe(200);
    expect(await text(await fetch(`${s.url}/api/export/settings/stripe_price_id`))).toEqual([200, '{"price_id":"price_1","success":true}']);
    expect(await text(await put(s.url, 'anything_at_all', '{"value":"x"}', MASTER_KEY))).toEqual([200, '{"key":"anything_at_all","ok":true}']);
    expect(await text(await put(s.url, 'anything_at_all', '{}', MASTER_KEY))).toEqual([400, '{"error":"Missing value"}']);
    expect(s.settings.get('anything_at_all')).toBe('x');
  });

  it('stats proves a key with no side effect; a wrong key on the pk PUT creates and leaks an export_api_key', async () => {
    const s = await start();
    expect((await fetch(`${s.url}/api/export/stats`, { headers: { 'x-api-key': 'wrong' } })).status).toBe(401);
    expect((await fetch(`${s.url}/api/export/stats`, { headers: { 'x-api-key': MASTER_KEY } })).status).toBe(200);
    expect(s.settings.has('export_api_key')).toBe(false);
    expect(await text(await put(s.url, 'stripe_publishable_key', '{"value":"pk_test_abc"}', 'wrong'))).toEqual([403, '{"error":"Cl\\u00e9 API invalide","success":false}']);
    const leaked = s.settings.get('export_api_key');
    expect(leaked).toMatch(/^[0-9a-f]{32}$/);
    expect(s.log.join('\n')).toContain(leaked);
    const exposed = (await (await fetch(`${s.url}/api/export/settings`)).json()) as Record<string, string>;
    expect(exposed.export_api_key).toBe(leaked);
    // …and it now opens the site.
    expect((await fetch(`${s.url}/api/export/stats`, { headers: { 'x-api-key': leaked as string } })).status).toBe(200);
  });

  it('public settings hide the secret and stripe*secret* names only; health routes are Flask 404 pages', async () => {
    const s = await start({ settings: { stripe_secret_key: 'sk_test_x', stripe_webhook_secret: 'whsec_x', smtp_password: 'hunter2', stripe_publishable_key: 'pk_test_x' } });
    const exposed = (await (await fetch(`${s.url}/api/export/settings`)).json()) as Record<string, string>;
    expect(exposed).toEqual({ smtp_password: 'hunter2', stripe_publishable_key: 'pk_test_x' });
    const health = await fetch(`${s.url}/api/health/stripe`);
    expect(health.status).toBe(404);
    expect(await health.text()).toContain('<title>404 Not Found</title>');
    const step8 = await start({ publicHealthStripe: true });
    expect(await (await fetch(`${step8.url}/api/health/stripe`, { headers: { 'x-api-key': MASTER_KEY } })).json()).toEqual({ environment: 'test', publishable_key_configured: false, secret_key_configured: false, success: true });
  });

  it('workers cache settings up to the TTL: a PUT clears only its own worker', async () => {
    const s = await start({ workers: 3, cacheTtlMs: 60_000, settings: { stripe_publishable_key: 'pk_test_old' } });
    for (let i = 0; i < 3; i++) await fetch(`${s.url}/api/stripe-pk`); // every worker caches the old key
    expect((await put(s.url, 'stripe_publishable_key', '{"value":"pk_test_new"}', MASTER_KEY)).status).toBe(200);
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) seen.push(((await (await fetch(`${s.url}/api/stripe-pk`)).json()) as { publishable_key: string }).publishable_key);
    expect(seen.filter((v) => v === 'pk_test_old')).toHaveLength(2);
    s.expireCaches();
    for (let i = 0; i < 3; i++) expect(((await (await fetch(`${s.url}/api/stripe-pk`)).json()) as { publishable_key: string }).publishable_key).toBe('pk_test_new');
  });

  it('env wins for the secret; the checkout keeps the secret read at start until a restart', async () => {
    const envSk = makeKey('sk');
    const s = await start({ env: { STRIPE_SECRET_KEY: envSk } });
    expect((await put(s.url, 'stripe_secret_key', JSON.stringify({ value: makeKey('sk') }), MASTER_KEY)).status).toBe(200);
    expect(s.effectiveSecret()).toBe(envSk);
    const plain = await start();
    const pushed = makeKey('sk');
    expect(plain.checkoutSecret()).toBeNull();
    await put(plain.url, 'stripe_secret_key', JSON.stringify({ value: pushed }), MASTER_KEY);
    expect(plain.checkoutSecret()).toBeNull();
    plain.restart();
    expect(plain.checkoutSecret()).toBe(pushed);
  });

  it("the guide's curl commands (and so the old scripts' requests) get the page's answers", async () => {
    const s = await start();
    const curl = (...args: string[]) => sh('curl', ['-sS', '-w', '\n%{http_code}', ...args]).then((r) => r.stdout.split('\n'));
    // "Verify API Key", as written with its placeholder key: refused with 403 — and the site now has an export_api_key.
    const [body, status] = await curl('-X', 'PUT', `${s.url}/api/export/settings/stripe_publishable_key`, '-H', 'Content-Type: application/json', '-H', 'X-API-Key: your-master-key-here', '-d', '{"value":"pk_test_dummy"}');
    expect([status, body]).toEqual(['403', '{"error":"Cl\\u00e9 API invalide","success":false}']);
    expect(s.settings.has('export_api_key')).toBe(true);
    // "curl verbose mode" with the right key: the secret is saved, the answer says only that.
    const [saved, ok] = await curl('-X', 'PUT', `${s.url}/api/export/settings/stripe_secret_key`, '-H', 'Content-Type: application/json', '-H', `X-API-Key: ${MASTER_KEY}`, '-d', '{"value":"sk_test_dummy"}');
    expect([ok, saved]).toEqual(['200', '{"message":"secret_saved","success":true}']);
    const [pk, code] = await curl('-X', 'GET', `${s.url}/api/stripe-pk`);
    expect([code, pk]).toEqual(['404', '{"message":"no_publishable_key","success":false}']);
  });

  it("the guide's verify_propagation.sh and backup_current_keys.sh work on it unmodified", async () => {
    const s = await start({ settings: { stripe_publishable_key: 'pk_test_guideCheck123' } });
    const work = mkdtempSync(join(tmpdir(), 'seed-guide-'));
    try {
      writeFileSync(join(work, 'sites.txt'), `# seed fleet\n${s.url}\n`);
      const verify = await sh('bash', [join(GUIDE, 'verify_propagation.sh'), join(work, 'sites.txt')], { cwd: work });
      expect(verify.stdout).toContain('OK (pk_test_guideC');
      const backup = await sh('bash', [join(GUIDE, 'backup_current_keys.sh'), join(work, 'sites.txt')], { cwd: work }).catch((e: { stdout: string }) => e);
      expect(backup.stdout).toContain('Backup saved');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
