import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { settingPath } from '../../src/protocol/routes.js';
import { runCli, scratch } from '../helpers/run-cli.js';
import { startTemplateFleet } from '../helpers/template-fleet.js';
import { makeKey } from '../helpers/keys.js';

describe('backup, then rollback from the file or from a run', () => {
  let fleet: Awaited<ReturnType<typeof startTemplateFleet>>;
  const tmp = scratch();
  const A = { pk: makeKey('pk'), sk: makeKey('sk') };
  const B = { pk: makeKey('pk'), sk: makeKey('sk') };
  const outputs: string[] = [];
  const cli = async (args: string[], keys: { pk: string; sk: string } = A) => {
    const r = await runCli(args, { env: { KEYFLEET_DB: tmp.db, TEMPLATE_MASTER_API_KEY: fleet.apiKey, STRIPE_SECRET_KEY: keys.sk, STRIPE_PUBLISHABLE_KEY: keys.pk }, cwd: tmp.dir });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const state = async (i: number) => ({ pk: await fleet.pkOf(i), sk: (await fleet.keysOf(i)).stripe_secret_key?.fingerprint ?? null });

  beforeAll(async () => {
    fleet = await startTemplateFleet(2);
    writeFileSync(tmp.path('sites.txt'), fleet.urls.join('\n'));
  });
  afterAll(async () => {
    await fleet.close();
    tmp.cleanup();
  });

  it('rollback --run puts back what each site had before that run, secrets included (keyfleet pushed them)', async () => {
    expect((await cli(['push', '--sites-file', 'sites.txt', '--yes'])).code).toBe(0);
    const pushB = await cli(['push', '--sites-file', 'sites.txt', '--yes', '--json'], B);
    expect(pushB.code).toBe(0);
    expect(await state(0)).toEqual({ pk: B.pk, sk: fingerprint(B.sk) });
    const r = await cli(['rollback', '--run', JSON.parse(pushB.stdout).run_id, '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ command: 'rollback', summary: { ok: 2 } });
    for (const i of [0, 1]) expect(await state(i)).toEqual({ pk: A.pk, sk: fingerprint(A.sk) });
  });

  it('backup writes pk, secret fingerprints and last4 — never a secret — and rollback --from restores them', async () => {
    const b = await cli(['backup', '--sites-file', 'sites.txt', '-o', 'backup.json']);
    expect(b.code).toBe(0);
    const text = readFileSync(tmp.path('backup.json'), 'utf8');
    expect(text).not.toContain(A.sk);
    const file = JSON.parse(text);
    expect(file.sites[fleet.urls[0]!]).toMatchObject({ publishable_key: A.pk, secrets: { stripe_secret_key: { fingerprint: fingerprint(A.sk), last4: A.sk.slice(-4) } } });
    expect((await cli(['backup', '--sites-file', 'sites.txt', '-o', 'backup.json'])).code).toBe(2); // never overwritten
    await cli(['push', '--sites-file', 'sites.txt', '--yes'], B);
    const dry = await cli(['rollback', '--from', 'backup.json', '--dry-run', '--json']);
    expect(JSON.parse(dry.stdout).sites[0].changes).toEqual(['stripe_secret_key', 'stripe_publishable_key']);
    expect(await state(0)).toEqual({ pk: B.pk, sk: fingerprint(B.sk) });
    expect((await cli(['rollback', '--from', 'backup.json', '--yes'])).code).toBe(0);
    expect(await state(1)).toEqual({ pk: A.pk, sk: fingerprint(A.sk) });
  });

  it("reads the guide's flat {url: pk} backup, and restores public values when a secret was never pushed by keyfleet", async () => {
    const foreign = makeKey('sk');
    await fleet.sites[0]!.app.inject({
      method: 'PUT',
      url: settingPath('stripe_secret_key'),
      headers: { 'x-api-key': fleet.apiKey, 'content-type': 'application/json' },
      payload: JSON.stringify({ value: foreign }),
    });
    expect((await cli(['backup', '--sites-file', 'sites.txt', '-o', 'foreign.json'])).code).toBe(0);
    await cli(['push', '--sites-file', 'sites.txt', '--yes'], B);
    const r = await cli(['rollback', '--from', 'foreign.json', '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('cannot be restored');
    expect(await state(0)).toEqual({ pk: A.pk, sk: fingerprint(B.sk) });
    writeFileSync(tmp.path('flat.json'), JSON.stringify({ [fleet.urls[1]!]: B.pk }));
    expect((await cli(['rollback', '--from', 'flat.json', '--yes'])).code).toBe(0);
    expect(await fleet.pkOf(1)).toBe(B.pk);
  });

  it('refuses bad input with exit 2 and never printed a secret', async () => {
    writeFileSync(tmp.path('junk.json'), '{"not": 1}');
    expect((await cli(['rollback', '--from', 'junk.json', '--yes'])).code).toBe(2);
    expect((await cli(['rollback', '--yes'])).code).toBe(2);
    expect((await cli(['rollback', '--run', 'nope', '--yes'])).code).toBe(2);
    const all = outputs.join('\n');
    for (const secret of [A.sk, B.sk]) expect(all).not.toContain(secret);
  });
});
