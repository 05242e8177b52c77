import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { runCli, scratch } from '../helpers/run-cli.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { makeKey } from '../helpers/keys.js';

describe('keyfleet push against real template sites', () => {
  let fleet: Awaited<ReturnType<typeof startTemplateFleet>>;
  const tmp = scratch();
  const sk = makeKey('sk');
  const pk = makeKey('pk');
  const outputs: string[] = [];
  const env = () => ({ KEYFLEET_DB: tmp.db, TEMPLATE_MASTER_API_KEY: fleet.apiKey, STRIPE_SECRET_KEY: sk, STRIPE_PUBLISHABLE_KEY: pk });
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    const r = await runCli(args, { env: { ...env(), ...extra } });
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  beforeAll(async () => {
    fleet = await startTemplateFleet(3);
    writeFileSync(tmp.path('sites.txt'), `# three sites\n${fleet.urls.join('\n')}\n`);
  });
  afterAll(async () => {
    await fleet.close();
    tmp.cleanup();
  });

  it('refuses to write without --yes when there is no terminal (exit 2), sending nothing', async () => {
    const r = await cli(['push', '--sites-file', tmp.path('sites.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(await fleet.pkOf(0)).toBeNull();
  });

  it('dry run: reports what would change on each site and writes nothing', async () => {
    const r = await cli(['push', '--sites-file', tmp.path('sites.txt'), '--dry-run', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ command: 'push', dry_run: true, summary: { total: 3, ok: 3, failed: 0 } });
    expect(report.sites[0].changes).toEqual(['stripe_secret_key', 'stripe_publishable_key']);
    for (let i = 0; i < 3; i++) expect(await fleet.pkOf(i)).toBeNull();
  });

  it('pushes, verifies every site, and answers the documented JSON report', async () => {
    const r = await cli(['push', '--sites-file', tmp.path('sites.txt'), '--yes', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['run_id', 'command', 'dry_run', 'started_at', 'finished_at', 'keys', 'summary', 'sites']));
    expect(report.keys.secret_key).toEqual({ last4: sk.slice(-4), fingerprint: fingerprint(sk) });
    expect(report.summary).toEqual({ total: 3, ok: 3, failed: 0, skipped: 0, unchanged: 0 });
    for (const site of report.sites) {
      // The template lists atomic_write: preflight + one atomic write whose answer is the proof (issue 10).
      expect(site).toMatchObject({ status: 'ok', verified: true, attempts: 2, error: null });
      expect(site.duration_ms).toEqual(expect.any(Number));
    }
    for (let i = 0; i < 3; i++) {
      expect(await fleet.pkOf(i)).toBe(pk);
      expect((await fleet.keysOf(i)).stripe_secret_key.fingerprint).toBe(fingerprint(sk));
    }
  });

  it('a second push finds every site unchanged and writes nothing', async () => {
    const r = await cli(['push', '--sites-file', tmp.path('sites.txt'), '--yes', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.summary).toMatchObject({ unchanged: 3, ok: 0 });
    expect(report.sites.every((s: { attempts: number }) => s.attempts === 1)).toBe(true);
  });

  it('--only pk pushes just the publishable key', async () => {
    const pk2 = makeKey('pk');
    const r = await cli(['push', '--sites-file', tmp.path('sites.txt'), '--yes', '--only', 'pk', '--json'], { STRIPE_PUBLISHABLE_KEY: pk2 });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).sites[0].changes).toEqual(['stripe_publishable_key']);
    expect(await fleet.pkOf(2)).toBe(pk2);
  });

  it('verify passes on the fleet, then catches a site changed behind its back (exit 1)', async () => {
    const pk2 = await fleet.pkOf(0);
    expect((await cli(['verify', '--sites-file', tmp.path('sites.txt'), '--expect-pk', pk2 ?? ''])).code).toBe(0);
    await fleet.sites[1]!.app.inject({
      method: 'PUT',
      url: '/api/export/settings/stripe_secret_key',
      headers: { 'x-api-key': fleet.apiKey, 'content-type': 'application/json' },
      payload: JSON.stringify({ value: makeKey('sk') }),
    });
    const r = await cli(['verify', '--sites-file', tmp.path('sites.txt'), '--json'], { STRIPE_PUBLISHABLE_KEY: pk2 ?? '' });
    expect(r.code).toBe(1);
    const bad = JSON.parse(r.stdout).sites.filter((s: { status: string }) => s.status === 'failed');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ url: fleet.urls[1], error: { code: 'verify_mismatch' } });
  });

  it('human output: one line per site and a recap when not on a terminal', async () => {
    const r = await cli(['push', '--sites-file', tmp.path('sites.txt'), '--yes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('PUSH RECAP');
    expect(r.stdout).toMatch(/ok=\d+ +failed=0 +skipped=0 +unchanged=\d+/);
    expect(r.stdout.split('\n').filter((l) => l.includes(fleet.urls[0]!)).length).toBeGreaterThanOrEqual(1);
  });

  it('history lists the runs', async () => {
    const r = await cli(['history', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).length).toBeGreaterThanOrEqual(5);
  });

  it('never printed the secret key', () => {
    const all = outputs.join('\n');
    expect(all).not.toContain(sk);
    expect(all).not.toContain(sk.slice(8));
  });
});
