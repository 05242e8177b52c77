import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../../src/store/open-state-store.js';
import { runCli, scratch } from '../helpers/run-cli.js';

/**
 * `keyfleet sites approve` (issue 12), the built CLI on a temp SQLite state database: a site that
 * registered itself is `pending approval` in `ls` until an operator approves it; the approval is
 * recorded (who, when) and audited.
 */
describe('keyfleet sites approve', { timeout: 60_000 }, () => {
  const tmp = scratch();
  const vaultKey = randomBytes(32).toString('base64');
  const env = { KEYFLEET_DB: tmp.db, KEYFLEET_VAULT_KEY: vaultKey };
  afterAll(() => tmp.cleanup());

  it('approves a pending site by name, once, and audits it', async () => {
    const state = await openStateStore({ path: tmp.db, vaultKey });
    const site = await state.fleet.addSite({
      url: 'https://joined.example.fr',
      name: 'joined',
      tags: [],
      apiKey: `own-${randomBytes(20).toString('hex')}`,
      source: 'register',
      addedBy: 'register',
      approval: 'pending',
    });
    await state.close();
    expect((await runCli(['sites', 'ls'], { env })).stdout).toMatch(/joined .*pending approval/);

    const r = await runCli(['sites', 'approve', 'joined'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^approved ${site.id}`));
    expect((await runCli(['sites', 'approve', site.id], { env })).stdout).toMatch(/^already approved/);
    expect((await runCli(['sites', 'approve', 'nobody'], { env })).code).toBe(2);

    const after = await openStateStore({ path: tmp.db, vaultKey });
    try {
      expect(await after.fleet.getSite(site.id)).toMatchObject({
        approval: 'approved',
        approved_by: `cli:${userInfo().username}`,
        approved_at: expect.any(String),
      });
      expect((await after.fleet.listAudit()).filter((a) => a.action === 'site.approve')).toHaveLength(1);
    } finally {
      await after.close();
    }
  });
});
