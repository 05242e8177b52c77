import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '../../src/protocol/cli-error.js';
import { loadKeys, SECRET_KEY_FLAG_WARNING, type LoadKeysOptions } from '../../src/keys/key-source.js';
import { makeKey, makePriceId, makeWebhookSecret } from '../helpers/keys.js';
import { tempDir } from '../helpers/temp-files.js';

/**
 * Where each key comes from: an explicit flag or file > the process environment > the .env file
 * (--env-file, else ./.env). `sources` names the place, never the value.
 */
const tmp = tempDir('keyfleet-keys-');
const emptyDir = tempDir('keyfleet-nodotenv-');
afterAll(() => {
  tmp.cleanup();
  emptyDir.cleanup();
});

const load = (opts: Partial<LoadKeysOptions>, warnings: string[] = []) =>
  loadKeys({ env: {}, cwd: emptyDir.dir, warn: (m) => warnings.push(m), ...opts });

describe('precedence', () => {
  it('reads every setting and the API key from the environment', async () => {
    const env = {
      STRIPE_SECRET_KEY: makeKey('sk'),
      STRIPE_PUBLISHABLE_KEY: makeKey('pk'),
      STRIPE_WEBHOOK_SECRET: makeWebhookSecret(),
      STRIPE_PRICE_ID: makePriceId(),
      TEMPLATE_MASTER_API_KEY: 'api-key-0123456789abcdefghijklmnopqrstuv',
    };
    const { keys, apiKey, sources } = await load({ env });
    expect(keys).toEqual({
      stripe_secret_key: env.STRIPE_SECRET_KEY,
      stripe_publishable_key: env.STRIPE_PUBLISHABLE_KEY,
      stripe_webhook_secret: env.STRIPE_WEBHOOK_SECRET,
      stripe_price_id: env.STRIPE_PRICE_ID,
    });
    expect(apiKey).toBe(env.TEMPLATE_MASTER_API_KEY);
    expect(sources).toEqual({
      stripe_secret_key: 'env STRIPE_SECRET_KEY',
      stripe_publishable_key: 'env STRIPE_PUBLISHABLE_KEY',
      stripe_webhook_secret: 'env STRIPE_WEBHOOK_SECRET',
      stripe_price_id: 'env STRIPE_PRICE_ID',
      api_key: 'env TEMPLATE_MASTER_API_KEY',
    });
  });

  it('prefers flags and files over the environment, and the environment over .env', async () => {
    const [flagSk, envSk, dotSk, envPk, dotPk, flagPk] = [
      makeKey('sk'),
      makeKey('sk'),
      makeKey('sk'),
      makeKey('pk'),
      makeKey('pk'),
      makeKey('pk'),
    ];
    const envFile = tmp.file(
      'prec.env',
      `STRIPE_SECRET_KEY=${dotSk}\nSTRIPE_PUBLISHABLE_KEY=${dotPk}\nSTRIPE_PRICE_ID=price_fromdotenv\n`,
    );
    const skFile = tmp.file('sk.txt', `${flagSk}\n`);
    const env = { STRIPE_SECRET_KEY: envSk, STRIPE_PUBLISHABLE_KEY: envPk };

    const a = await load({ env, envFile });
    expect([a.keys.stripe_secret_key, a.keys.stripe_publishable_key, a.keys.stripe_price_id]).toEqual([
      envSk,
      envPk,
      'price_fromdotenv',
    ]);
    expect(a.sources.stripe_price_id).toBe(`env file ${envFile}`);

    const b = await load({ env, envFile, secretKeyFile: skFile, publishableKey: flagPk });
    expect([b.keys.stripe_secret_key, b.keys.stripe_publishable_key]).toEqual([flagSk, flagPk]);
    expect(b.sources).toMatchObject({
      stripe_secret_key: `file ${skFile}`,
      stripe_publishable_key: '--publishable-key',
    });
  });

  it('treats an empty variable as unset, falling through to .env', async () => {
    const sk = makeKey('sk');
    const envFile = tmp.file('fallthrough.env', `STRIPE_SECRET_KEY=${sk}\n`);
    const { keys, sources } = await load({ env: { STRIPE_SECRET_KEY: '' }, envFile });
    expect(keys.stripe_secret_key).toBe(sk);
    expect(sources.stripe_secret_key).toBe(`env file ${envFile}`);
  });

  it('reads ./.env from the working directory when no --env-file is given', async () => {
    const dir = tempDir('keyfleet-cwd-');
    try {
      const sk = makeKey('sk');
      dir.file('.env', `export STRIPE_SECRET_KEY="${sk}"\nTEMPLATE_MASTER_API_KEY=from-dotenv\n`);
      const { keys, apiKey, sources } = await load({ cwd: dir.dir });
      expect(keys.stripe_secret_key).toBe(sk);
      expect(apiKey).toBe('from-dotenv');
      expect(sources).toEqual({ stripe_secret_key: '.env', api_key: '.env' });
    } finally {
      dir.cleanup();
    }
  });

  it('is fine with no .env at all, and reports nothing found as an empty set', async () => {
    expect(await load({})).toMatchObject({ keys: {}, apiKey: null, sources: {} });
  });

  it('refuses a missing --env-file (a default ./.env may be absent, an explicit one may not)', async () => {
    const err = await load({ envFile: `${tmp.dir}/missing.env` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toBe(`cannot read --env-file ${tmp.dir}/missing.env: not found`);
  });

  it('warns about malformed .env lines by line number', async () => {
    const warnings: string[] = [];
    const envFile = tmp.file('odd.env', 'A=1\nnot an assignment\n');
    await load({ envFile }, warnings);
    expect(warnings).toEqual([`env file ${envFile}:2: not a KEY=VALUE line; ignored`]);
  });

  it('resolves an inventory api_key_env variable with the same precedence', async () => {
    const envFile = tmp.file('site-keys.env', 'SHOP_API_KEY=from-file\nBLOG_API_KEY=blog-from-file\n');
    const { apiKeyFor } = await load({ env: { SHOP_API_KEY: 'from-env' }, envFile });
    expect(apiKeyFor('SHOP_API_KEY')).toEqual({ value: 'from-env', source: 'env SHOP_API_KEY' });
    expect(apiKeyFor('BLOG_API_KEY')).toEqual({ value: 'blog-from-file', source: `env file ${envFile}` });
    expect(apiKeyFor('NOPE_API_KEY')).toBeNull();
  });
});

describe('--secret-key', () => {
  it('works, and warns that it leaks into shell history and ps', async () => {
    const sk = makeKey('sk', 'live');
    const warnings: string[] = [];
    const { keys, sources } = await load(
      { secretKey: sk, env: { STRIPE_SECRET_KEY: makeKey('sk') } },
      warnings,
    );
    expect(keys.stripe_secret_key).toBe(sk);
    expect(sources.stripe_secret_key).toBe('--secret-key');
    expect(warnings).toEqual([SECRET_KEY_FLAG_WARNING]);
    expect(SECRET_KEY_FLAG_WARNING).toBe(
      '--secret-key leaks into shell history and ps; use STRIPE_SECRET_KEY or --secret-key-file',
    );
  });

  it('cannot be combined with --secret-key-file', async () => {
    const err = await load({ secretKey: makeKey('sk'), secretKeyFile: '-' }).catch((e: unknown) => e);
    expect((err as CliError).message).toBe('--secret-key and --secret-key-file both given');
  });

  it('never puts a value in sources', async () => {
    const sk = makeKey('sk');
    const { sources } = await load({ secretKey: sk, env: { STRIPE_PUBLISHABLE_KEY: makeKey('pk') } });
    expect(JSON.stringify(sources)).not.toMatch(/[sp]k_test_[A-Za-z0-9]/);
  });
});
