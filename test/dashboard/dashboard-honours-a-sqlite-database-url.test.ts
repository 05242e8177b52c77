import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDashboardApp } from '../../src/dashboard/app.js';
import { ADMIN_TOKEN, DASHBOARD_BACKEND } from './dashboard-fixture.js';

// Issue 11: `DATABASE_URL=sqlite:…` was ignored without a word, so two "separate" dashboards shared the
// user-wide default database. It is honoured now, and a DATABASE_URL keyfleet cannot open is refused.
describe.skipIf(DASHBOARD_BACKEND === 'postgres')('a dashboard given DATABASE_URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyfleet-database-url-'));
  const home = join(dir, 'home'); // XDG_DATA_HOME: where the default database would go
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['sqlite:', 'file:'])('opens the file a %s URL names, not the default one', async (scheme) => {
    const file = join(dir, `${scheme.slice(0, -1)}.db`);
    const app = await buildDashboardApp({
      env: { DATABASE_URL: `${scheme}${file}`, KEYFLEET_ADMIN_TOKEN: ADMIN_TOKEN, XDG_DATA_HOME: home },
      logStream: false,
    });
    await app.close();
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(home, 'keyfleet', 'keyfleet.db'))).toBe(false);
  });

  it('refuses any other DATABASE_URL with the variable to use, and never echoes its password', async () => {
    const err = await buildDashboardApp({
      env: {
        DATABASE_URL: 'mysql://app:hunter2secret@db/x',
        KEYFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
        XDG_DATA_HOME: home,
      },
      logStream: false,
    }).catch((e: Error & { code?: string }) => e);
    expect(err).toMatchObject({ code: 'config_error', message: expect.stringMatching(/KEYFLEET_DB=<path>/) });
    expect((err as Error).message).not.toContain('hunter2secret');
    expect(existsSync(join(home, 'keyfleet', 'keyfleet.db'))).toBe(false);
  });

  it('KEYFLEET_DB wins over DATABASE_URL', async () => {
    const file = join(dir, 'chosen.db');
    const app = await buildDashboardApp({
      env: {
        KEYFLEET_DB: file,
        DATABASE_URL: 'mysql://x',
        KEYFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
        XDG_DATA_HOME: home,
      },
      logStream: false,
    });
    await app.close();
    expect(existsSync(file)).toBe(true);
  });
});
