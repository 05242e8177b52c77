import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/protocol/routes.js';
import { runCli, scratch } from '../helpers/run-cli.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { makeKey } from '../helpers/keys.js';

/** Where sites and keys come from: a YAML inventory with tags and per-site keys, stdin, the old flag. */
describe('push with a YAML inventory and other key sources', () => {
  let fleet: Awaited<ReturnType<typeof startTemplateFleet>>;
  const tmp = scratch();
  const ownKey = 'site-own-key-0123456789abcdefghijklmnopqrst';

  beforeAll(async () => {
    fleet = await startTemplateFleet(3);
    // Site 2 gets its own credentials, through the template's rotate + confirm.
    const call = (url: string, key: string, body: unknown) =>
      fleet.sites[2]!.app.inject({ method: 'POST', url, headers: { 'x-api-key': key, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    await call(ROUTES.rotateCredentials, fleet.apiKey, { new_key: ownKey });
    await call(ROUTES.confirmCredentials, ownKey, { retire_shared_key: true });
    writeFileSync(
      tmp.path('fleet.yml'),
      [
        'sites:',
        `  - url: ${fleet.urls[0]}`,
        '    tags: [production]',
        `  - url: ${fleet.urls[1]}`,
        '    tags: [staging]',
        `  - url: ${fleet.urls[2]}`,
        '    tags: [production]',
        '    api_key_env: SITE3_API_KEY',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await fleet.close();
    tmp.cleanup();
  });

  const env = (extra: Record<string, string> = {}) => ({ KEYFLEET_DB: tmp.db, TEMPLATE_MASTER_API_KEY: fleet.apiKey, ...extra });

  it('pushes to the tagged sites, each with its own key, the secret read from stdin', async () => {
    const sk = makeKey('sk');
    const pk = makeKey('pk');
    const r = await runCli(['push', '--sites-file', tmp.path('fleet.yml'), '--tag', 'production', '--secret-key-file', '-', '--yes', '--json'], {
      env: env({ STRIPE_PUBLISHABLE_KEY: pk, SITE3_API_KEY: ownKey }),
      input: `${sk}\n`,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).sites.map((s: { url: string }) => s.url)).toEqual([fleet.urls[0], fleet.urls[2]]);
    expect(await fleet.pkOf(0)).toBe(pk);
    expect(await fleet.pkOf(1)).toBeNull();
    expect(await fleet.pkOf(2)).toBe(pk);
    expect(r.stdout + r.stderr).not.toContain(sk);
  });

  it("refuses before sending anything when a site's own key variable is unset (exit 2)", async () => {
    const r = await runCli(['push', '--sites-file', tmp.path('fleet.yml'), '--yes'], { env: env({ STRIPE_PUBLISHABLE_KEY: makeKey('pk') }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('SITE3_API_KEY');
  });

  it('warns about live keys, and that --secret-key leaks into shell history', async () => {
    const sk = makeKey('sk', 'live');
    const r = await runCli(['push', '--sites-file', tmp.path('fleet.yml'), '--tag', 'staging', '--secret-key', sk, '--dry-run'], {
      env: env({ STRIPE_PUBLISHABLE_KEY: makeKey('pk', 'live') }),
    });
    expect(r.code).toBe(0);
    const all = r.stdout + r.stderr;
    expect(all).toContain('LIVE keys');
    expect(all).toContain('--secret-key leaks into shell history');
    expect(all).toContain('dry run');
    expect(all).not.toContain(sk);
    expect(await fleet.pkOf(1)).toBeNull();
  });
});
