import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDashboardApp } from '../../src/dashboard/app.js';
import { formatPasswordHash, hashPassword } from '../../src/dashboard/auth/password.js';
import { DASHBOARD_ROUTES } from '../../src/protocol/dashboard-routes.js';
import { runCli } from '../helpers/run-cli.js';
import { ADMIN_PASSWORD, ADMIN_TOKEN, DASHBOARD_BACKEND, startTestDashboard } from './dashboard-fixture.js';

describe('dashboard startup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyfleet-dashboard-start-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const build = (env: Record<string, string>) =>
    buildDashboardApp({ env: { KEYFLEET_DB: join(dir, 'state.db'), ...env }, logStream: false });

  it('refuses to start without a password or a token, saying what to set', async () => {
    await expect(build({})).rejects.toMatchObject({
      code: 'config_error',
      message: expect.stringMatching(/KEYFLEET_ADMIN_PASSWORD.*KEYFLEET_ADMIN_TOKEN/),
    });
    await expect(build({ KEYFLEET_ADMIN_TOKEN: 'short' })).rejects.toThrow(
      /KEYFLEET_ADMIN_TOKEN is too short/,
    );
    await expect(build({ KEYFLEET_ADMIN_PASSWORD: 'hunter2' })).rejects.toThrow(
      /KEYFLEET_ADMIN_PASSWORD is too short/,
    );
    await expect(build({ KEYFLEET_ADMIN_PASSWORD: 'scrypt$2$1$1$AAAA$AAAA' })).rejects.toThrow(
      /not a usable one/,
    );
    await expect(
      build({ KEYFLEET_ADMIN_TOKEN: ADMIN_TOKEN, KEYFLEET_REGISTRATION_TOKEN: 'with space'.repeat(5) }),
    ).rejects.toThrow(/whitespace/);
    // Nothing was created for a dashboard that did not start.
    expect(existsSync(join(dir, 'state.db'))).toBe(false);
  });

  it('keyfleet dashboard exits 2 with the same message', async () => {
    const res = await runCli(['dashboard', '--port', '0'], { env: { KEYFLEET_DB: join(dir, 'cli.db') } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/Set KEYFLEET_ADMIN_PASSWORD .* and\/or KEYFLEET_ADMIN_TOKEN/);
    expect(existsSync(join(dir, 'cli.db'))).toBe(false);
  });

  it('keyfleet dashboard refuses --trust-proxy true (any X-Forwarded-For) with exit 2 and the fix (issue 12)', async () => {
    const res = await runCli(['dashboard', '--port', '0', '--trust-proxy', 'true'], {
      env: { KEYFLEET_DB: join(dir, 'proxy.db'), KEYFLEET_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--trust-proxy must be the number of proxies .* "true" is refused/);
    const env = await runCli(['dashboard', '--port', '0'], {
      env: { KEYFLEET_DB: join(dir, 'proxy.db'), KEYFLEET_ADMIN_TOKEN: ADMIN_TOKEN, KEYFLEET_TRUST_PROXY: 'true' },
    });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/KEYFLEET_TRUST_PROXY must be/);
  });

  it.skipIf(DASHBOARD_BACKEND === 'postgres')(
    'creates the vault key file (0600) next to the database on first start, with a warning',
    async () => {
      const d = await startTestDashboard();
      try {
        const key = join(d.dir, 'vault.key');
        expect(statSync(key).mode & 0o777).toBe(0o600);
        expect(Buffer.from(readFileSync(key, 'utf8').trim(), 'base64')).toHaveLength(32);
        expect(d.logs.text()).toMatch(/created a new vault key at .*vault\.key/);
      } finally {
        await d.close();
      }
    },
  );

  it('accepts the password as a scrypt hash, so the clear text need not be in the environment', async () => {
    const d = await startTestDashboard({
      env: { KEYFLEET_ADMIN_PASSWORD: formatPasswordHash(hashPassword(ADMIN_PASSWORD)) },
    });
    try {
      const s = await d.login();
      expect(
        (await d.call({ url: DASHBOARD_ROUTES.session, headers: { cookie: s.cookie } })).statusCode,
      ).toBe(200);
      expect(await d.everything()).not.toContain(ADMIN_PASSWORD);
    } finally {
      await d.close();
    }
  });
});
