import { chmodSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateConfigError, stateDbPath, vaultKeyPath } from '../../src/store/open-state-store.js';
import { makeKey } from '../helpers/keys.js';
import { newVaultKey, stateFixture, type StateFixture } from './state-store-fixture.js';

describe('stateDbPath', () => {
  const defaultPath = join(homedir(), '.local', 'share', 'keyfleet', 'keyfleet.db');

  it.each([
    ['the option first', { path: '/a/opt.db' }, { KEYFLEET_DB: '/b/env.db' }, '/a/opt.db'],
    ['then KEYFLEET_DB', {}, { KEYFLEET_DB: '/b/env.db', XDG_DATA_HOME: '/x' }, '/b/env.db'],
    ['as a sqlite: URL too', {}, { KEYFLEET_DB: 'sqlite:///b/env.db' }, '/b/env.db'],
    ['then XDG_DATA_HOME', {}, { XDG_DATA_HOME: '/x' }, '/x/keyfleet/keyfleet.db'],
    ['ignoring a relative XDG_DATA_HOME', {}, { XDG_DATA_HOME: 'rel' }, defaultPath],
    ['else ~/.local/share', {}, {}, defaultPath],
  ])('takes %s', (_what, opts, env, expected) => {
    expect(stateDbPath(opts, env)).toBe(expected);
  });

  it('refuses Postgres for now, as a configuration error that hides the password', () => {
    const call = () => stateDbPath({}, { KEYFLEET_DB: 'postgres://app:hunter2@db/keyfleet' });
    expect(call).toThrow(StateConfigError);
    expect(call).toThrow('not supported');
    expect(call).not.toThrow('hunter2');
  });

  it('puts vault.key next to the database', () => {
    expect(vaultKeyPath('/x/keyfleet/keyfleet.db')).toBe('/x/keyfleet/vault.key');
  });
});

describe('openStateStore vault key configuration', () => {
  let fx: StateFixture;
  afterEach(() => fx.cleanup());

  it('names KEYFLEET_VAULT_KEY when it is not 32 bytes of base64, without breaking masked reads', async () => {
    fx = stateFixture();
    const store = await fx.open({ vaultKey: undefined, env: { KEYFLEET_VAULT_KEY: 'c2hvcnQ=' } });
    expect(await store.listRuns()).toEqual([]);
    const err = await store
      .saveKeyVersion({ stripe_secret_key: makeKey('sk') }, 'a')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateConfigError);
    expect((err as StateConfigError).code).toBe('config_error');
    expect((err as Error).message).toContain('KEYFLEET_VAULT_KEY must be 32 bytes');
  });

  it('warns when an existing vault.key is readable by other users', async () => {
    fx = stateFixture();
    const keyFile = join(fx.dir, 'vault.key');
    writeFileSync(keyFile, newVaultKey());
    chmodSync(keyFile, 0o644);
    const store = await fx.open({ vaultKey: undefined });
    await store.saveKeyVersion({ stripe_secret_key: makeKey('sk') }, 'a');
    expect(fx.logs).toEqual([expect.stringContaining(`chmod 600 ${keyFile}`)]);
  });

  it('says which database failed to open', async () => {
    fx = stateFixture();
    writeFileSync(join(fx.dir, 'not-a-db'), 'garbage, not SQLite '.repeat(100));
    await expect(fx.open({ path: join(fx.dir, 'not-a-db') })).rejects.toThrow(
      `Could not open keyfleet's state database ${join(fx.dir, 'not-a-db')}`,
    );
  });
});
