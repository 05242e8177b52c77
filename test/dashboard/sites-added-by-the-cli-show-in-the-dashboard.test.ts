import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES, dashboardPath } from '../../src/protocol/dashboard-routes.js';
import { API_KEY_HEADER } from '../../src/protocol/routes.js';
import { makeKey } from '../helpers/keys.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { DASHBOARD_BACKEND, startTestDashboard, type TestDashboard } from './dashboard-fixture.js';

const BUILT = fileURLToPath(new URL('../../dist/cli/commands/sites.js', import.meta.url));

/**
 * `keyfleet sites` and the dashboard share one registry: a site the built CLI adds (with its own key,
 * sealed) is listed by GET /api/admin/sites and its key opens the dashboard's template-facing route,
 * so the CLI sealed it with the dashboard's vault key; a site the dashboard adds is listed by the
 * CLI. On Postgres the CLI finds the database through DATABASE_URL, as the dashboard can.
 */
describe('sites added by the CLI, in the dashboard', { timeout: 60_000 }, () => {
  let d: TestDashboard;
  const siteKey = `own-${randomBytes(24).toString('hex')}`;
  const outputs: CliResult[] = [];
  /** Only what names the state database (and the vault key on Postgres): not the admin's credentials. */
  const cliEnv = (): Record<string, string | undefined> => {
    const env: Record<string, string | undefined> = d.env;
    return DASHBOARD_BACKEND === 'postgres'
      ? {
          DATABASE_URL: env.KEYFLEET_DB,
          KEYFLEET_DB_SCHEMA: env.KEYFLEET_DB_SCHEMA,
          KEYFLEET_VAULT_KEY: env.KEYFLEET_VAULT_KEY,
        }
      : { KEYFLEET_DB: env.KEYFLEET_DB };
  };
  const cli = async (args: string[]) => {
    const r = await runCli(['sites', ...args], { env: { ...cliEnv(), SHOP_API_KEY: siteKey } });
    outputs.push(r);
    return r;
  };

  beforeAll(async () => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first.`);
    d = await startTestDashboard();
  });
  afterAll(() => d?.close());

  it('lists a site the CLI added, with its own key, which the dashboard can open', async () => {
    const r = await cli([
      'add',
      'https://shop.example.fr',
      '--name',
      'shop',
      '--tag',
      'eu',
      '--api-key-env',
      'SHOP_API_KEY',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const res = await d.call({ url: `${DASHBOARD_ROUTES.sites}?q=shop&limit=10` });
    expect(res.json()).toMatchObject({
      total: 1,
      sites: [
        {
          url: 'https://shop.example.fr',
          name: 'shop',
          tags: ['eu'],
          has_api_key: true,
          added_by: `cli:${userInfo().username}`,
          drift: 'unknown',
        },
      ],
    });
    const audit = (await d.call({ url: DASHBOARD_ROUTES.audit })).json().entries;
    expect(audit[0]).toMatchObject({ action: 'site.add', actor: `cli:${userInfo().username}` });

    // The template-facing route accepts the site's own key: the dashboard opened what the CLI sealed.
    await d.call({ url: DASHBOARD_ROUTES.keys, body: { make_default: true, publishable_key: makeKey('pk') } });
    const stripeKey = (key: string) =>
      d.call({
        url: dashboardPath(DASHBOARD_ROUTES.siteStripeKey, { site: 'shop' }),
        headers: { [API_KEY_HEADER]: key },
        auth: 'none',
      });
    const ok = await stripeKey(siteKey);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().publishable_key).toMatch(/^pk_test_/);
    expect((await stripeKey(`${siteKey}x`)).statusCode).toBe(401);
  });

  it('lists a site the dashboard added, and removes it for both', async () => {
    await d.call({ url: DASHBOARD_ROUTES.sites, body: { url: 'https://blog.example.fr', name: 'blog' } });
    const ls = await cli(['ls', '--json']);
    expect((JSON.parse(ls.stdout) as Array<{ name: string }>).map((s) => s.name)).toEqual(['shop', 'blog']);
    expect((await cli(['rm', 'blog'])).code).toBe(0);
    expect(
      (await d.call({ url: DASHBOARD_ROUTES.sites })).json().sites.map((s: { name: string }) => s.name),
    ).toEqual(['shop']);
  });

  it('never shows the site key: not in the CLI output, a response, a log line or the database', async () => {
    const cliText = outputs.map((o) => o.stdout + o.stderr).join('\n');
    expect(cliText).not.toContain(siteKey);
    expect(await d.everything()).not.toContain(siteKey);
  });
});
