import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeKey, startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { BIN, scratch } from '../helpers/run-cli.js';

/**
 * A push holds a connection only for the sites it is working on: each site's connection is closed
 * when its work ends, whatever it answered — including a site that already holds the keys, whose
 * only request (the preflight read) could not know it was the last. Without that, every finished
 * site kept an idle keep-alive socket and a fleet larger than `ulimit -n` died with `connect EMFILE`.
 * 300 sites (half of them unchanged), 128 descriptors, both pipelines.
 */
describe('push over more sites than file descriptors', () => {
  const apiKey = fakeKey('api');
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const sites: FakeSiteServer[] = [];
  const tmp = scratch();

  beforeAll(async () => {
    for (let i = 0; i < 300; i++) sites.push(await startFakeSite({ apiKey }));
    writeFileSync(tmp.path('many.txt'), sites.map((s) => s.url).join('\n'));
  });
  afterAll(async () => {
    await Promise.all(sites.map((s) => s.close()));
    tmp.cleanup();
  });

  const push = async (db: string, ...more: string[]) => {
    // Asynchronously: the sites are served by this very process.
    const child = spawn('sh', ['-c', 'ulimit -n 128 && exec "$0" "$@"', process.execPath, BIN, 'push', '--sites-file', tmp.path('many.txt'), '--yes', '--json', '--concurrency', '8', ...more], {
      env: { PATH: process.env.PATH ?? '', KEYFLEET_DB: tmp.path(db), TEMPLATE_MASTER_API_KEY: apiKey, STRIPE_PUBLISHABLE_KEY: pk, STRIPE_SECRET_KEY: sk },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    return { code, stdout, stderr };
  };

  for (const mode of [[], ['--preflight-all']]) {
    it(`pushes 300 sites under ulimit -n 128 ${mode.join(' ') || '(site by site)'}`, async () => {
      // Half the fleet already holds the keys: those sites are read once and not written.
      sites.forEach((s, i) => {
        s.state.settings.clear();
        if (i % 2 === 0) {
          s.state.settings.set('stripe_publishable_key', pk);
          s.state.settings.set('stripe_secret_key', sk);
        }
      });
      const r = await push(`state${mode.length}.db`, ...mode);
      expect(r.stderr).not.toContain('EMFILE');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).summary).toEqual({ total: 300, ok: 150, failed: 0, skipped: 0, unchanged: 150 });
      for (const s of sites) expect(s.state.settings.get('stripe_publishable_key')).toBe(pk);
      expect(r.stdout + r.stderr).not.toContain(sk);
    });
  }
});
