import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint, maskKey } from '../../src/protocol/fingerprint.js';
import { makeKey } from '../helpers/keys.js';
import { runKeyfleet, type CliRun } from '../helpers/run-keyfleet.js';
import { tempDir } from '../helpers/temp-files.js';

/**
 * `keyfleet validate` through the real CLI (built dist/): keys from the environment, ./.env,
 * --env-file, a file and stdin; exit 0 when fit to push and 2 otherwise; and not one secret in
 * anything it printed.
 */
const tmp = tempDir('keyfleet-validate-');
const secrets: string[] = [];
const outputs: CliRun[] = [];
afterAll(() => tmp.cleanup());

function key(prefix: 'sk' | 'pk', mode: 'test' | 'live' = 'test'): string {
  const value = makeKey(prefix, mode);
  if (prefix === 'sk') secrets.push(value);
  return value;
}

async function validate(args: string[], opts: Parameters<typeof runKeyfleet>[1] = {}): Promise<CliRun> {
  const run = await runKeyfleet(['validate', ...args], { cwd: tmp.dir, ...opts });
  outputs.push(run);
  return run;
}

describe('keyfleet validate', () => {
  it('accepts a matching pair from the environment: exit 0, ✔ lines with masked keys and sources', async () => {
    const sk = key('sk');
    const pk = key('pk');
    const run = await validate([], { env: { STRIPE_SECRET_KEY: sk, STRIPE_PUBLISHABLE_KEY: pk } });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `✔ secret key       ${maskKey(sk)}  test  48 chars  fp ${fingerprint(sk)}  from env STRIPE_SECRET_KEY`,
    );
    expect(run.stdout).toContain(`✔ publishable key  ${maskKey(pk)}  test  48 chars`);
    expect(run.stdout).toMatch(/✔ keys are fit to push \(test mode\)\n$/);
    expect(run.stderr).toBe('');
  });

  it('reads ./.env in the working directory, and says so', async () => {
    const dir = tempDir('keyfleet-validate-cwd-');
    try {
      const sk = key('sk', 'live');
      dir.file('.env', `# fleet keys\nexport STRIPE_SECRET_KEY="${sk}"\n`);
      const run = await validate([], { cwd: dir.dir });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`${maskKey(sk)}  live  48 chars  fp ${fingerprint(sk)}  from .env`);
      expect(run.stdout).toContain('live keys: a push will ask you to confirm');
    } finally {
      dir.cleanup();
    }
  });

  it('lets --env-file and the environment combine, the environment winning', async () => {
    const envFile = tmp.file(
      'keys.env',
      `STRIPE_SECRET_KEY=${key('sk')}\nSTRIPE_PUBLISHABLE_KEY=${key('pk')}\n`,
    );
    const sk = key('sk');
    const run = await validate(['--env-file', envFile, '--json'], { env: { STRIPE_SECRET_KEY: sk } });
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { keys: Record<string, { source: string; fingerprint: string }> };
    expect(doc.keys.stripe_secret_key).toMatchObject({
      source: 'env STRIPE_SECRET_KEY',
      fingerprint: fingerprint(sk),
    });
    expect(doc.keys.stripe_publishable_key?.source).toBe(`env file ${envFile}`);
  });

  it('reads --secret-key-file, dropping the newline the editor added', async () => {
    const sk = key('sk');
    const file = tmp.file('sk.txt', `${sk}\n`);
    const run = await validate(['--secret-key-file', file, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: true,
      keys: { stripe_secret_key: { length: sk.length, source: `file ${file}` } },
    });
  });

  it('reads the key from stdin with --secret-key-file -', async () => {
    const sk = key('sk', 'live');
    const run = await validate(['--secret-key-file', '-', '--json'], { input: `${sk}\n` });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      ok: true,
      mode: 'live',
      live: true,
      keys: {
        stripe_secret_key: {
          masked: maskKey(sk),
          last4: sk.slice(-4),
          fingerprint: fingerprint(sk),
          mode: 'live',
          length: sk.length,
          source: 'stdin',
        },
      },
      problems: [],
      warnings: [],
    });
  });

  it('exits 2 on a trailing space, saying where it is and how to fix it', async () => {
    const run = await validate([], { env: { STRIPE_SECRET_KEY: `${key('sk')} ` } });
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(
      /✖ secret key .* from env STRIPE_SECRET_KEY\n {2}✖ secret key sk_test_…\w{4} has a trailing space: keys are never trimmed\n {6}fix: Remove it/,
    );
    expect(run.stdout).toMatch(/✖ 1 problem: fix it before pushing \(nothing was sent\)\n$/);
  });

  it('exits 2 on a test/live mix, in JSON too', async () => {
    const run = await validate(['--json'], {
      env: { STRIPE_SECRET_KEY: key('sk', 'live'), STRIPE_PUBLISHABLE_KEY: key('pk', 'test') },
    });
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as {
      ok: boolean;
      mode: unknown;
      problems: Array<{ code: string; hint: string }>;
    };
    expect(doc).toMatchObject({ ok: false, mode: null });
    expect(doc.problems.map((p) => p.code)).toEqual(['mode_mismatch']);
  });

  it('exits 2 with nothing to validate', async () => {
    const run = await validate([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('✖ no keys found');
  });

  it('reports a short key as a warning and still exits 0', async () => {
    const sk = makeKey('sk', 'test', 16);
    secrets.push(sk);
    const run = await validate(['--json'], { env: { STRIPE_SECRET_KEY: sk } });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).warnings).toEqual([expect.objectContaining({ code: 'key_too_short' })]);
  });

  it('accepts --secret-key with a warning on stderr (also in the JSON warnings)', async () => {
    const sk = key('sk');
    const run = await validate(['--secret-key', sk, '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      'keyfleet: warning: --secret-key leaks into shell history and ps; use STRIPE_SECRET_KEY or --secret-key-file\n',
    );
    expect(JSON.parse(run.stdout).warnings).toEqual([expect.objectContaining({ code: 'key_source' })]);
  });

  it('exits 2 with the fix when the key file is missing', async () => {
    const run = await validate(['--secret-key-file', `${tmp.dir}/nope.txt`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `keyfleet: cannot read --secret-key-file ${tmp.dir}/nope.txt: not found\n  fix: Check the path; use "-" to read the key from stdin.\n`,
    );
  });

  it('printed no secret key, whole or in part, in any of the runs above', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(11);
    const all = outputs.map((o) => o.stdout + o.stderr).join('\n');
    for (const sk of secrets) {
      expect(all).not.toContain(sk);
      expect(all).not.toContain(sk.slice(8, 20));
    }
  });
});
