import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeKey, startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { BIN } from '../helpers/run-cli.js';
import { cleanupScratch, scratchPath, type SiteJson } from './doctor-fixtures.js';

/**
 * Regression: with one dispatcher for the whole run, every site's keep-alive connection stayed open
 * until the site dropped it, one file descriptor per site, and a fleet larger than `ulimit -n` ended
 * in `connect EMFILE` with no report. Each site's connections now close when its ladder ends, so
 * 300 sites fit in 128 descriptors.
 */
describe('doctor over more sites than file descriptors', () => {
  const apiKey = fakeKey('api');
  const pk = makeKey('pk');
  const sk = makeKey('sk');
  const sites: FakeSiteServer[] = [];
  const sitesFile = scratchPath('many.txt');

  beforeAll(async () => {
    for (let i = 0; i < 300; i++) {
      const site = await startFakeSite({ apiKey, publishableKey: pk });
      site.state.settings.set('stripe_secret_key', sk);
      sites.push(site);
    }
    writeFileSync(sitesFile, sites.map((s) => s.url).join('\n'));
  });
  afterAll(async () => {
    await Promise.all(sites.map((s) => s.close()));
    cleanupScratch();
  });

  it('examines 300 sites under ulimit -n 128', async () => {
    // Asynchronously: the sites are served by this very process.
    const child = spawn(
      'sh',
      [
        '-c',
        'ulimit -n 128 && exec "$0" "$@"',
        process.execPath,
        BIN,
        'doctor',
        '--sites-file',
        sitesFile,
        '--json',
      ],
      {
        env: {
          PATH: process.env.PATH ?? '',
          TEMPLATE_MASTER_API_KEY: apiKey,
          STRIPE_PUBLISHABLE_KEY: pk,
          STRIPE_SECRET_KEY: sk,
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const r = { status, stdout, stderr };
    expect(r.stderr).toBe('');
    const reports = JSON.parse(r.stdout) as SiteJson[];
    expect(reports).toHaveLength(300);
    for (const report of reports) {
      expect(report.checks.find((c) => c.name === 'stripe-health')?.status, report.url).toBe('pass');
    }
    expect(r.status).toBe(0); // warnings only (these fake sites have no landing page, no CORS header)
  });
});
