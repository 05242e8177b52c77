import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '../../src/protocol/cli-error.js';
import { loadKeys } from '../../src/keys/key-source.js';
import { makeKey } from '../helpers/keys.js';
import { tempDir } from '../helpers/temp-files.js';

/**
 * `--secret-key-file path` and `--secret-key-file -` (stdin): exactly one trailing newline is removed
 * (editors and echo add it); any other whitespace stays, for validation to report, as the guide asks.
 */
const tmp = tempDir('keyfleet-keyfile-');
afterAll(() => tmp.cleanup());

const fromFile = async (content: string) =>
  (await loadKeys({ env: {}, cwd: tmp.dir, secretKeyFile: tmp.file('sk.txt', content), warn: () => {} })).keys
    .stripe_secret_key;

const fromStdin = async (stdin: NodeJS.ReadableStream) =>
  loadKeys({ env: {}, cwd: tmp.dir, secretKeyFile: '-', stdin, warn: () => {} });

describe('key file', () => {
  const sk = makeKey('sk', 'live');

  it.each([
    ['no newline', sk, sk],
    ['one newline, removed', `${sk}\n`, sk],
    ['one CRLF, removed', `${sk}\r\n`, sk],
    ['two newlines: one stays', `${sk}\n\n`, `${sk}\n`],
    ['a trailing space stays', `${sk} \n`, `${sk} `],
    ['a leading space stays', ` ${sk}\n`, ` ${sk}`],
    ['a tab inside stays', `${sk.slice(0, 12)}\t${sk.slice(12)}\n`, `${sk.slice(0, 12)}\t${sk.slice(12)}`],
    ['an empty file is an empty value', '', ''],
  ])('%s', async (_name, content, expected) => {
    expect(await fromFile(content)).toBe(expected);
  });

  it('names the file as the source', async () => {
    const path = tmp.file('named.txt', `${sk}\n`);
    const { sources } = await loadKeys({ env: {}, cwd: tmp.dir, secretKeyFile: path, warn: () => {} });
    expect(sources.stripe_secret_key).toBe(`file ${path}`);
  });

  it('reports a missing file by path', async () => {
    const err = await loadKeys({
      env: {},
      cwd: tmp.dir,
      secretKeyFile: `${tmp.dir}/nope.txt`,
      warn: () => {},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toBe(`cannot read --secret-key-file ${tmp.dir}/nope.txt: not found`);
  });

  it('refuses a file far too large to be a key', async () => {
    const path = tmp.file('big.txt', 'x'.repeat(100_000));
    const err = await loadKeys({ env: {}, cwd: tmp.dir, secretKeyFile: path, warn: () => {} }).catch(
      (e: unknown) => e,
    );
    expect((err as CliError).message).toMatch(/is 100000 bytes: not a key file/);
  });
});

describe('stdin', () => {
  it('reads the key from stdin with "-", in chunks, dropping one trailing newline', async () => {
    const sk = makeKey('sk');
    const { keys, sources } = await fromStdin(
      Readable.from([Buffer.from(sk.slice(0, 10)), Buffer.from(`${sk.slice(10)}\n`)]),
    );
    expect(keys.stripe_secret_key).toBe(sk);
    expect(sources.stripe_secret_key).toBe('stdin');
  });

  it('refuses a terminal: typing a secret echoes it on screen', async () => {
    const tty = Object.assign(Readable.from([]), { isTTY: true });
    const err = await fromStdin(tty).catch((e: unknown) => e);
    expect((err as CliError).message).toBe(
      '--secret-key-file - reads the key from stdin, which is a terminal',
    );
  });

  it('takes precedence over STRIPE_SECRET_KEY', async () => {
    const sk = makeKey('sk');
    const { keys } = await loadKeys({
      env: { STRIPE_SECRET_KEY: makeKey('sk') },
      cwd: tmp.dir,
      secretKeyFile: '-',
      stdin: Readable.from([`${sk}\n`]),
      warn: () => {},
    });
    expect(keys.stripe_secret_key).toBe(sk);
  });
});
