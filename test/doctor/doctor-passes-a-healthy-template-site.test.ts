import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStripe, type FakeStripe } from '../fake-stripe/server.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import {
  check,
  cleanupScratch,
  leaked,
  listeningTemplate,
  runDoctor,
  type ListeningTemplate,
  type SiteJson,
} from './doctor-fixtures.js';

/**
 * A real template site (the one `keyfleet template` serves) holding the operator's keys, and a
 * Stripe-compatible fake behind it: every check of the ladder passes, `--stripe` included, and the
 * verdict is exit 0 with no diagnosis. Revoking the key at "Stripe" turns --stripe into
 * stripe_auth_failed with the POST that shows it.
 */
describe('doctor on a healthy template site', () => {
  let stripe: FakeStripe;
  let template: ListeningTemplate;
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const env = { TEMPLATE_MASTER_API_KEY: MASTER_KEY, STRIPE_PUBLISHABLE_KEY: pk, STRIPE_SECRET_KEY: sk };

  beforeAll(async () => {
    stripe = await startFakeStripe();
    template = await listeningTemplate({ stripeApiBase: stripe.url, stripeTimeoutMs: 2000 });
    await template.push('stripe_publishable_key', pk);
    await template.push('stripe_secret_key', sk);
  });
  afterAll(async () => {
    await template.close();
    await stripe.close();
    cleanupScratch();
  });

  it('passes every check, --stripe included, and exits 0 with no diagnosis', async () => {
    const r = await runDoctor([template.url, '--stripe', '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(report.url).toBe(template.url);
    expect(report.diagnosis).toBeNull();
    expect(report.checks.map((c) => c.name)).toEqual([
      'url',
      'dns',
      'tcp',
      'tls',
      'http',
      'health',
      'stripe-pk',
      'stripe-health',
      'test-stripe',
      'latency',
    ]);
    for (const c of report.checks) {
      if (c.name === 'tls') expect(c, 'tls').toMatchObject({ status: 'skip', detail: 'http' });
      else expect(c.status, `${c.name}: ${c.detail}`).toBe('pass');
      expect(c.duration_ms).toBeGreaterThanOrEqual(0);
    }
    expect(check(report, 'stripe-pk').detail).toContain('Access-Control-Allow-Origin: *');
    expect(check(report, 'stripe-health').detail).toContain(
      'fingerprints match STRIPE_PUBLISHABLE_KEY, STRIPE_SECRET_KEY',
    );
    expect(check(report, 'test-stripe').detail).toContain('livemode false');
    expect(check(report, 'latency').detail).toContain('direct (no proxy variables)');
    expect(leaked(r, [sk, MASTER_KEY])).toEqual([]);
  });

  it('prints a readable report: one line per check and the verdict', async () => {
    const r = await runDoctor([template.url], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`keyfleet doctor ${template.url}`);
    expect(r.stdout).toMatch(/PASS {2}stripe-health +\d+ ms {2}key accepted/);
    expect(r.stdout).toMatch(/SKIP {2}test-stripe +\d+ ms {2}not requested \(--stripe\)/);
    expect(r.stdout).toContain('verdict: pass');
    expect(r.stdout).toContain('diagnosis: none');
    expect(r.stdout).not.toContain('\u001b['); // NO_COLOR and no terminal: no escape codes
    expect(leaked(r, [sk, MASTER_KEY])).toEqual([]);
  });

  it('with a key revoked at Stripe, --stripe fails with stripe_auth_failed and the POST to reproduce it', async () => {
    stripe.revoke(sk);
    const r = await runDoctor([template.url, '--stripe', '--json', '--retries', '0'], env);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'stripe-health').status).toBe('pass');
    expect(check(report, 'test-stripe').status).toBe('fail');
    expect(report.diagnosis).toMatchObject({ code: 'stripe_auth_failed' });
    expect(report.diagnosis?.reproduce).toBe(
      `curl -sS -i -X POST --max-time 8 -H "X-API-Key: $TEMPLATE_MASTER_API_KEY" '${template.url}/api/test-stripe'`,
    );
    expect(leaked(r, [sk, MASTER_KEY])).toEqual([]);
  });
});
