import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { BIN, runCli, scratch } from '../helpers/run-cli.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

const SITES = 24;

/** kill -9 in the middle of a push over a slow fleet, then --resume: every site ends with one result. */
describe('push --resume after the process was killed', () => {
  const sites: FakeSiteServer[] = [];
  const tmp = scratch();
  const env = { KEYFLEET_DB: tmp.db, TEMPLATE_MASTER_API_KEY: MASTER_KEY, STRIPE_SECRET_KEY: makeKey('sk'), STRIPE_PUBLISHABLE_KEY: makeKey('pk'), PATH: process.env.PATH, NO_COLOR: '1' };

  beforeAll(async () => {
    for (let i = 0; i < SITES; i++) sites.push(await startFakeSite({ apiKey: MASTER_KEY, publishableKey: null, delayMs: 60 }));
    writeFileSync(tmp.path('slow.txt'), sites.map((s) => s.url).join('\n'));
  });
  afterAll(async () => {
    await Promise.all(sites.map((s) => s.close()));
    tmp.cleanup();
  });

  it('loses no site and counts none twice', async () => {
    const child = spawn(process.execPath, [BIN, 'push', '--sites-file', tmp.path('slow.txt'), '--yes', '--concurrency', '2', '--canary', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const runId = await new Promise<string>((resolve, reject) => {
      let id = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        id ||= /run (\S+): \d+ sites/.exec(out)?.[1] ?? '';
        // Kill once a few sites are done and others are in flight.
        if (id && (out.match(/^ok /gm) ?? []).length >= 4) resolve(id);
      });
      child.on('exit', () => reject(new Error(`push ended before it could be killed:\n${out}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const doneBeforeKill = (out.match(/^ok /gm) ?? []).length;
    expect(doneBeforeKill).toBeLessThan(SITES);

    const resumed = await runCli(['push', '--resume', runId, '--yes', '--json', '--concurrency', '8'], { env });
    expect(resumed.stderr).toContain(`run ${runId} was interrupted`);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout);
    expect(report.run_id).toBe(runId);
    expect(report.sites).toHaveLength(SITES);
    expect(new Set(report.sites.map((s: { url: string }) => s.url)).size).toBe(SITES);
    expect(report.summary.total).toBe(SITES);
    expect(report.summary.ok + report.summary.unchanged).toBe(SITES);
    expect(report.summary.ok).toBeGreaterThanOrEqual(doneBeforeKill);
    for (const s of sites) expect(s.state.settings.get('stripe_secret_key')).toBe(env.STRIPE_SECRET_KEY);

    // A finished run cannot be resumed again.
    const again = await runCli(['push', '--resume', runId, '--yes'], { env });
    expect(again.code).toBe(2);
  });
});
