import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fakeKey } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import {
  check,
  cleanupScratch,
  leaked,
  listeningTemplate,
  runDoctor,
  startOldStyleSite,
  type ListeningTemplate,
  type SiteJson,
} from './doctor-fixtures.js';

/**
 * What only the authenticated /api/health/stripe shows: an environment variable on the site that is
 * in effect instead of the pushed key (env_shadowing), a pushed key hiding a stale variable
 * (env_shadowed, a warning), a publishable and a secret key of different modes (mode_mismatch), and
 * a key the site does not accept (invalid_api_key). Real template sites, except the seed-style app
 * that reads its environment first — the case the template was built not to have.
 */
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});
afterAll(() => cleanupScratch());

async function template(config: Parameters<typeof listeningTemplate>[0] = {}): Promise<ListeningTemplate> {
  const t = await listeningTemplate(config);
  closers.push(() => t.close());
  return t;
}

async function doctorJson(url: string, env: Record<string, string>) {
  const r = await runDoctor([url, '--json'], env);
  return { r, report: JSON.parse(r.stdout) as SiteJson };
}

describe('doctor reads where each key comes from', () => {
  it('env_shadowing: a seed-style site keeps using its STRIPE_SECRET_KEY after a push', async () => {
    const apiKey = fakeKey('api');
    const pk = makeKey('pk');
    const pushed = makeKey('sk');
    const fromEnv = makeKey('sk');
    const site = await startOldStyleSite({ apiKey, publishableKey: pk, envSecretKey: fromEnv });
    closers.push(() => site.close());
    // The push "works": the site answers 200 and stores the value…
    const put = await fetch(`${site.url}/api/export/settings/stripe_secret_key`, {
      method: 'PUT',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ value: pushed }),
    });
    expect(put.status).toBe(200);
    expect(site.pushedSecret()).toBe(pushed);
    // …but the doctor sees the environment variable in effect.
    const env = { TEMPLATE_MASTER_API_KEY: apiKey, STRIPE_PUBLISHABLE_KEY: pk, STRIPE_SECRET_KEY: pushed };
    const { r, report } = await doctorJson(site.url, env);
    expect(r.code).toBe(1);
    expect(check(report, 'stripe-health').status).toBe('fail');
    expect(check(report, 'stripe-health').detail).toContain(
      `sk is sk …${fromEnv.slice(-4)} (env STRIPE_SECRET_KEY)`,
    );
    expect(report.diagnosis?.code).toBe('env_shadowing');
    expect(report.diagnosis?.reproduce).toBe(
      `curl -sS -i --max-time 8 -H "X-API-Key: $TEMPLATE_MASTER_API_KEY" '${site.url}/api/health/stripe'`,
    );
    expect(leaked(r, [apiKey, pushed, fromEnv])).toEqual([]);
  });

  it('env_shadowing: a template whose only secret is its environment variable, not the expected key', async () => {
    const pk = makeKey('pk');
    const t = await template({ env: { STRIPE_SECRET_KEY: makeKey('sk') } });
    await t.push('stripe_publishable_key', pk);
    const env = {
      TEMPLATE_MASTER_API_KEY: MASTER_KEY,
      STRIPE_PUBLISHABLE_KEY: pk,
      STRIPE_SECRET_KEY: makeKey('sk'),
    };
    const { report } = await doctorJson(t.url, env);
    expect(report.diagnosis?.code).toBe('env_shadowing');
  });

  it('env_shadowed: the pushed key wins but a different variable lingers; a warning, exit 0', async () => {
    const pk = makeKey('pk');
    const sk = makeKey('sk');
    const stale = makeKey('sk');
    const t = await template({ env: { STRIPE_SECRET_KEY: stale } });
    await t.push('stripe_publishable_key', pk);
    await t.push('stripe_secret_key', sk);
    const env = { TEMPLATE_MASTER_API_KEY: MASTER_KEY, STRIPE_PUBLISHABLE_KEY: pk, STRIPE_SECRET_KEY: sk };
    const { r, report } = await doctorJson(t.url, env);
    expect(r.code).toBe(0);
    expect(check(report, 'stripe-health').status).toBe('warn');
    expect(check(report, 'stripe-health').detail).toContain('hides a different STRIPE_SECRET_KEY');
    expect(check(report, 'stripe-health').detail).toContain(
      'fingerprints match STRIPE_PUBLISHABLE_KEY, STRIPE_SECRET_KEY',
    );
    expect(report.diagnosis?.code).toBe('env_shadowed');
    expect(leaked(r, [MASTER_KEY, sk, stale])).toEqual([]);
  });
});

describe('doctor checks the pair and the key', () => {
  it('mode_mismatch: a live publishable key next to a test secret', async () => {
    const pk = makeKey('pk', 'live');
    const sk = makeKey('sk', 'test');
    const t = await template();
    await t.push('stripe_publishable_key', pk);
    await t.push('stripe_secret_key', sk);
    const env = { TEMPLATE_MASTER_API_KEY: MASTER_KEY, STRIPE_PUBLISHABLE_KEY: pk, STRIPE_SECRET_KEY: sk };
    const { r, report } = await doctorJson(t.url, env);
    expect(r.code).toBe(1);
    expect(check(report, 'stripe-pk').detail).toContain('(live mode)');
    expect(check(report, 'stripe-health').detail).toMatch(/publishable key is live .*secret key is test/);
    expect(report.diagnosis?.code).toBe('mode_mismatch');
    expect(report.diagnosis?.hint).toContain('pk_test_ with sk_test_');
  });

  it('secret_key_missing: a publishable key alone', async () => {
    const pk = makeKey('pk');
    const t = await template();
    await t.push('stripe_publishable_key', pk);
    const { report } = await doctorJson(t.url, { TEMPLATE_MASTER_API_KEY: MASTER_KEY });
    expect(report.diagnosis?.code).toBe('secret_key_missing');
  });

  it('invalid_api_key: the key is refused, and the curl command names the variable, not the value', async () => {
    const t = await template();
    await t.push('stripe_publishable_key', makeKey('pk'));
    const wrong = 'not-the-master-key-0123456789abcdefghijkl';
    const { r, report } = await doctorJson(t.url, { TEMPLATE_MASTER_API_KEY: wrong });
    expect(check(report, 'stripe-health').status).toBe('fail');
    expect(report.diagnosis?.code).toBe('invalid_api_key');
    expect(report.diagnosis?.reproduce).toContain('-H "X-API-Key: $TEMPLATE_MASTER_API_KEY"');
    expect(leaked(r, [wrong])).toEqual([]);
  });

  it('no_api_key: without a key the public checks still run and the rest is a warning', async () => {
    const t = await template();
    await t.push('stripe_publishable_key', makeKey('pk'));
    const { r, report } = await doctorJson(t.url, {});
    expect(r.code).toBe(0);
    expect(check(report, 'stripe-pk').status).toBe('pass');
    expect(check(report, 'stripe-health').status).toBe('warn');
    expect(report.diagnosis?.code).toBe('no_api_key');
  });
});
