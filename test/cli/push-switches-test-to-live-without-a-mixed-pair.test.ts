import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/protocol/routes.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';
import { runCli, scratch } from '../helpers/run-cli.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';

type Fleet = Awaited<ReturnType<typeof startTemplateFleet>>;
type Modes = { pk: string | null; sk: string | null };

/**
 * Issue 10, done-when: readers polling real template sites while `keyfleet push` moves them from a test
 * pair to a live pair never see a mixed pair (the key view answers both keys from one snapshot), and
 * an atomic write the site refuses leaves the old pair whole.
 */
describe('a push from test to live keys', () => {
  const tmp = scratch();
  let fleet: Fleet;
  const outputs: string[] = [];
  const push = async (keys: Record<string, string>, ...more: string[]) => {
    const r = await runCli(['push', '--sites-file', tmp.path('sites.txt'), '--yes', '--json', ...more], {
      env: { KEYFLEET_DB: tmp.db, TEMPLATE_MASTER_API_KEY: MASTER_KEY, ...keys },
    });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const modesOf = async (url: string): Promise<Modes> => {
    const body = (await (
      await fetch(`${url}${ROUTES.healthStripe}`, { headers: { 'x-api-key': MASTER_KEY } })
    ).json()) as {
      keys: Record<string, { mode: string | null } | null>;
    };
    return {
      pk: body.keys.stripe_publishable_key?.mode ?? null,
      sk: body.keys.stripe_secret_key?.mode ?? null,
    };
  };
  const test = { STRIPE_PUBLISHABLE_KEY: makeKey('pk', 'test'), STRIPE_SECRET_KEY: makeKey('sk', 'test') };
  const live = { STRIPE_PUBLISHABLE_KEY: makeKey('pk', 'live'), STRIPE_SECRET_KEY: makeKey('sk', 'live') };

  beforeAll(async () => {
    fleet = await startTemplateFleet(3);
    writeFileSync(tmp.path('sites.txt'), fleet.urls.join('\n'));
    expect((await push(test)).code).toBe(0);
  });
  afterAll(async () => {
    await fleet?.close();
    tmp.cleanup();
  });

  it('readers of every site see the test pair, then the live pair, never one of each', async () => {
    const seen: Modes[] = [];
    let done = false;
    const poll = async (url: string) => {
      while (!done) seen.push(await modesOf(url));
    };
    const pollers = fleet.urls.map(poll);
    const r = await push(live);
    done = true;
    await Promise.all(pollers);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.summary).toMatchObject({ total: 3, ok: 3 });
    for (const site of report.sites) expect(site.attempts).toBe(2); // preflight + the atomic write
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.filter((m) => m.pk !== m.sk)).toEqual([]);
    expect(seen[0]).toEqual({ pk: 'test', sk: 'test' }); // the readers started before the switch
    for (const url of fleet.urls) expect(await modesOf(url)).toEqual({ pk: 'live', sk: 'live' });
  });

  it('a write the site refuses (a test secret next to the live publishable key) leaves the live pair whole', async () => {
    const before = await Promise.all(fleet.urls.map((_, i) => fleet.keysOf(i)));
    const r = await push(
      { STRIPE_SECRET_KEY: makeKey('sk', 'test') },
      '--only',
      'sk',
      '--canary',
      '0',
      '--max-failures',
      '100%',
    );
    expect(r.code).not.toBe(0);
    const report = JSON.parse(r.stdout);
    for (const site of report.sites)
      expect(site).toMatchObject({ status: 'failed', error: { code: 'mixed_key_modes' } });
    for (let i = 0; i < fleet.urls.length; i++) {
      const after = await fleet.keysOf(i);
      expect(after.stripe_secret_key.fingerprint).toBe(before[i].stripe_secret_key.fingerprint);
      expect(after.stripe_publishable_key.value).toBe(before[i].stripe_publishable_key.value);
      expect(await modesOf(fleet.urls[i]!)).toEqual({ pk: 'live', sk: 'live' });
    }
  });

  it('never printed a secret', () => {
    const all = outputs.join('\n');
    for (const k of [test.STRIPE_SECRET_KEY, live.STRIPE_SECRET_KEY]) expect(all).not.toContain(k);
  });
});
