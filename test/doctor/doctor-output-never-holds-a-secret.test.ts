import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeKey, startFault, type FaultServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey, makeWebhookSecret } from '../helpers/keys.js';
import {
  check,
  cleanupScratch,
  leaked,
  listeningTemplate,
  runDoctor,
  scratchPath,
  type ListeningTemplate,
  type SiteJson,
} from './doctor-fixtures.js';

/**
 * Every output of doctor is grep-clean: the text report, the fleet table, --json and --verbose, over
 * a fleet from a YAML inventory with a per-site key (api_key_env), a site whose error messages echo
 * whatever it was sent, and every key in the environment — API keys, secret key, webhook secret.
 */
describe('doctor never prints a secret', () => {
  let own: ListeningTemplate;
  let shared: ListeningTemplate;
  let leaky: FaultServer;
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const whsec = makeWebhookSecret();
  const ownKey = fakeKey('api', 48);
  const inventory = scratchPath('sites.yml');
  let env: Record<string, string>;

  beforeAll(async () => {
    shared = await listeningTemplate();
    own = await listeningTemplate({ masterKeys: [ownKey] });
    leaky = await startFault('leaky');
    for (const t of [shared, own]) {
      const push = async (name: string, value: string) => {
        const res = await t.site.app.inject({
          method: 'PUT',
          url: `/api/export/settings/${name}`,
          headers: { 'x-api-key': t === own ? ownKey : MASTER_KEY, 'content-type': 'application/json' },
          payload: JSON.stringify({ value }),
        });
        expect(res.statusCode).toBe(200);
      };
      await push('stripe_publishable_key', pk);
      await push('stripe_secret_key', sk);
      await push('stripe_webhook_secret', whsec);
    }
    writeFileSync(
      inventory,
      [
        'sites:',
        `  - ${shared.url}`,
        `  - url: ${own.url}`,
        '    api_key_env: OWN_SITE_KEY',
        `  - url: ${leaky.url}`,
      ].join('\n'),
    );
    env = {
      TEMPLATE_MASTER_API_KEY: MASTER_KEY,
      OWN_SITE_KEY: ownKey,
      STRIPE_PUBLISHABLE_KEY: pk,
      STRIPE_SECRET_KEY: sk,
      STRIPE_WEBHOOK_SECRET: whsec,
    };
  });
  afterAll(async () => {
    await Promise.all([shared.close(), own.close(), leaky.close()]);
    cleanupScratch();
  });

  const secrets = () => [MASTER_KEY, ownKey, sk, whsec];

  it('--json over a YAML fleet: each site opened with its own key, nothing leaked', async () => {
    const r = await runDoctor(['--sites-file', inventory, '--json', '--retries', '0'], env);
    expect(r.code).toBe(1);
    const reports = JSON.parse(r.stdout) as SiteJson[];
    expect(reports).toHaveLength(3);
    const [a, b, c] = reports as [SiteJson, SiteJson, SiteJson];
    expect(check(a, 'stripe-health').detail).toContain('STRIPE_WEBHOOK_SECRET');
    expect(a.diagnosis).toBeNull();
    expect(b.diagnosis).toBeNull();
    expect(c.diagnosis?.code).toBe('invalid_secret_format');
    expect(leaked(r, secrets())).toEqual([]);
  });

  it('the per-site key appears as its variable in the curl command', async () => {
    const wrong = `${ownKey.slice(0, -4)}0000`;
    const r = await runDoctor(['--sites-file', inventory, '--json', '--retries', '0'], {
      ...env,
      OWN_SITE_KEY: wrong,
    });
    const reports = JSON.parse(r.stdout) as SiteJson[];
    expect(reports[1]?.diagnosis?.code).toBe('invalid_api_key');
    expect(reports[1]?.diagnosis?.reproduce).toContain('-H "X-API-Key: $OWN_SITE_KEY"');
    expect(leaked(r, [...secrets(), wrong])).toEqual([]);
  });

  it('the table, the single-site report and --verbose', async () => {
    const runs = await Promise.all([
      runDoctor(['--sites-file', inventory, '--verbose', '--retries', '0'], env),
      runDoctor([leaky.url, '--verbose', '--retries', '0'], env),
      runDoctor([own.url, '--verbose'], { ...env, TEMPLATE_MASTER_API_KEY: ownKey }),
    ]);
    for (const r of runs) expect(leaked(r, secrets())).toEqual([]);
    expect(runs[0]?.stdout).toContain('GET ');
    expect(runs[2]?.stdout).toContain('verdict: pass');
  });
});
