import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStripe } from '../fake-stripe/server.js';
import { spawnTemplateSite } from '../helpers/spawn-site.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

const sh = promisify(execFile);
const GUIDE = new URL('../fixtures/guide/', import.meta.url).pathname;

/**
 * The operator's guide (TROUBLESHOOTING_STRIPE_PROPAGATION.md), run as written against a real
 * `keyfleet template` process on a real port: its curl commands and its two shell scripts.
 */
describe("the troubleshooting guide's commands against a running template site", () => {
  let site: Awaited<ReturnType<typeof spawnTemplateSite>>;
  let stripe: Awaited<ReturnType<typeof startFakeStripe>>;
  const work = mkdtempSync(join(tmpdir(), 'keyfleet-guide-'));
  const sk = makeKey('sk');
  const curl = (...args: string[]) => sh('curl', ['-sS', ...args]);

  beforeAll(async () => {
    stripe = await startFakeStripe();
    site = await spawnTemplateSite({ TEMPLATE_MASTER_API_KEY: MASTER_KEY, STRIPE_API_BASE: stripe.url });
  });
  afterAll(async () => {
    const code = await site.stop();
    await stripe.close();
    rmSync(work, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  it('Quick Diagnosis: curl -I and GET /api/stripe-pk', async () => {
    const head = await curl('-I', site.url);
    expect(head.stdout).toMatch(/^HTTP\/1\.1 200/);
    const pk = await curl('-X', 'GET', `${site.url}/api/stripe-pk`);
    expect(JSON.parse(pk.stdout)).toMatchObject({ success: false, error: 'no_publishable_key' });
  });

  it('Verify API Key: the PUT with pk_test_dummy, verbose', async () => {
    const res = await curl('-X', 'PUT', `${site.url}/api/export/settings/stripe_publishable_key`, '-H', 'Content-Type: application/json', '-H', `X-API-Key: ${MASTER_KEY}`, '-d', '{"value":"pk_test_dummy"}', '-v');
    expect(res.stdout).toBe('{"success":true,"message":"publishable_key_saved"}');
    expect(res.stderr).toContain('< HTTP/1.1 200');
  });

  it('invalid_api_key: a wrong key gets 401 with the documented code', async () => {
    const res = await curl('-w', '\n%{http_code}', '-X', 'PUT', `${site.url}/api/export/settings/stripe_publishable_key`, '-H', 'Content-Type: application/json', '-H', 'X-API-Key: your-master-key-here', '-d', '{"value":"pk_test_test"}');
    const [body, status] = res.stdout.split('\n');
    expect(status).toBe('401');
    expect(JSON.parse(body ?? '')).toMatchObject({ error: 'invalid_api_key' });
  });

  it('curl verbose mode: the secret key PUT', async () => {
    const res = await curl('-v', '-X', 'PUT', `${site.url}/api/export/settings/stripe_secret_key`, '-H', 'Content-Type: application/json', '-H', `X-API-Key: ${MASTER_KEY}`, '-d', `{"value":"${sk}"}`);
    expect(res.stdout).toBe('{"success":true,"message":"secret_saved"}');
  });

  it('Testing Stripe Functionality: POST /saas_launch_site gives a checkout_url', async () => {
    const res = await curl('-X', 'POST', `${site.url}/saas_launch_site`, '-H', 'Content-Type: application/json', '-d', '{\n    "domain": "test.example.fr",\n    "email": "test@example.com",\n    "type": "standard"\n  }');
    const body = JSON.parse(res.stdout);
    expect(body).toMatchObject({ success: true, session_id: expect.stringMatching(/^cs_test_/) });
    expect(body.checkout_url).toMatch(/^https:\/\//);
  });

  it('Step 4: POST /api/test-stripe answers with the documented JSON (401 without the key, livemode with it)', async () => {
    const anon = await curl('-X', 'POST', `${site.url}/api/test-stripe`, '-H', 'Content-Type: application/json', '-d', '{"test": true}');
    expect(JSON.parse(anon.stdout)).toMatchObject({ success: false, error: 'invalid_api_key' });
    const authed = await curl('-X', 'POST', `${site.url}/api/test-stripe`, '-H', 'Content-Type: application/json', '-H', `X-API-Key: ${MASTER_KEY}`, '-d', '{"test": true}');
    expect(JSON.parse(authed.stdout)).toEqual({ success: true, livemode: false });
  });

  it('verify_propagation.sh passes, and fails for a site without a key', async () => {
    const sites = join(work, 'sites.txt');
    writeFileSync(sites, `# fleet\n\n${site.url}\n`);
    const ok = await sh('bash', [join(GUIDE, 'verify_propagation.sh'), sites]);
    expect(ok.stdout).toContain('✅ OK (pk_test_dummy...)');
    expect(ok.stdout).toContain('Success: 1');
    writeFileSync(sites, `${site.url}\n${site.url}/nowhere\n`);
    await expect(sh('bash', [join(GUIDE, 'verify_propagation.sh'), sites])).rejects.toMatchObject({ code: 1 });
  });

  it('backup_current_keys.sh writes the {site: pk} backup', async () => {
    const sites = join(work, 'sites.txt');
    writeFileSync(sites, `${site.url}\n`);
    await sh('bash', [join(GUIDE, 'backup_current_keys.sh'), sites], { cwd: work });
    const file = readdirSync(work).find((f) => f.startsWith('keys_backup_'));
    expect(file).toBeDefined();
    expect(JSON.parse(readFileSync(join(work, file ?? ''), 'utf8'))).toEqual({ [site.url]: 'pk_test_dummy' });
  });

  it('printed no secret in its logs', () => {
    expect(site.output()).not.toContain(sk);
    expect(site.output()).toContain('setting updated');
  });
});
