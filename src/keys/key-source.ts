import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { usageError } from '../protocol/cli-error.js';
import { SETTING_NAMES, SETTINGS, type SettingName } from '../protocol/settings.js';
import { parseDotenv } from './dotenv.js';

/**
 * Where the keys come from (DESIGN.md §2, the guide's "Use Environment Variables for Secrets").
 * Precedence, first found wins: an explicit flag or file (`--secret-key-file`, `-` = stdin,
 * `--secret-key`, `--publishable-key`) > the process environment > the `.env` file (`--env-file`,
 * else ./.env when present). An empty variable counts as unset. Values are never trimmed: a key
 * file loses exactly one trailing newline (the one editors and `echo` add) and keeps any other
 * whitespace, so that validation can point at it. `sources` says where each value came from — never
 * the value.
 *
 * @example
 *   const { keys, apiKey, sources } = await loadKeys({ secretKeyFile: '-', warn: (m) => stderr.write(m) });
 *   // sources = { stripe_secret_key: 'stdin', stripe_publishable_key: 'env STRIPE_PUBLISHABLE_KEY', api_key: '.env' }
 */
export type KeySet = Partial<Record<SettingName, string>>;

export interface LoadKeysOptions {
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  envFile?: string;
  secretKeyFile?: string;
  secretKey?: string;
  publishableKey?: string;
  /** Read by `--secret-key-file -`; defaults to process.stdin. */
  stdin?: NodeJS.ReadableStream;
  /** Where the default ./.env is looked for; defaults to process.cwd(). */
  cwd?: string;
  warn: (msg: string) => void;
}

export interface LoadedKeys {
  keys: KeySet;
  /** TEMPLATE_MASTER_API_KEY (env, then .env); null when unset. */
  apiKey: string | null;
  /** Setting name (or `api_key`) → 'env STRIPE_SECRET_KEY' | '.env' | 'file ./sk.txt' | 'stdin' | '--secret-key'. */
  sources: Record<string, string>;
  /** A YAML inventory's `api_key_env` variable, looked up with the same precedence (env, then .env). */
  apiKeyFor(envName: string): { value: string; source: string } | null;
}

export const API_KEY_ENV = 'TEMPLATE_MASTER_API_KEY';
export const SECRET_KEY_FLAG_WARNING =
  '--secret-key leaks into shell history and ps; use STRIPE_SECRET_KEY or --secret-key-file';
/** A key is ~100 bytes; anything this large is the wrong file, not a key. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

export async function loadKeys(opts: LoadKeysOptions): Promise<LoadedKeys> {
  if (opts.secretKeyFile !== undefined && opts.secretKey !== undefined) {
    throw usageError(
      '--secret-key and --secret-key-file both given',
      'Use one: --secret-key-file (or STRIPE_SECRET_KEY).',
    );
  }
  const env = opts.env ?? process.env;
  const dotenv = await readDotenv(opts);

  const explicit: Partial<Record<SettingName, { value: string; source: string }>> = {};
  if (opts.secretKeyFile !== undefined) {
    const fromStdin = opts.secretKeyFile === '-';
    const text = fromStdin
      ? await readStdin(opts.stdin ?? process.stdin)
      : await readKeyFile(opts.secretKeyFile);
    explicit.stripe_secret_key = {
      value: stripOneNewline(text),
      source: fromStdin ? 'stdin' : `file ${opts.secretKeyFile}`,
    };
  } else if (opts.secretKey !== undefined) {
    opts.warn(SECRET_KEY_FLAG_WARNING);
    explicit.stripe_secret_key = { value: opts.secretKey, source: '--secret-key' };
  }
  if (opts.publishableKey !== undefined) {
    explicit.stripe_publishable_key = { value: opts.publishableKey, source: '--publishable-key' };
  }

  const lookup = (name: string): { value: string; source: string } | null => {
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: `env ${name}` };
    const fromFile = dotenv.values[name];
    if (fromFile !== undefined && fromFile !== '') return { value: fromFile, source: dotenv.label };
    return null;
  };

  const keys: KeySet = {};
  const sources: Record<string, string> = {};
  for (const setting of SETTING_NAMES) {
    const found = explicit[setting] ?? lookup(SETTINGS[setting].envVar);
    if (!found) continue;
    keys[setting] = found.value;
    sources[setting] = found.source;
  }
  const api = lookup(API_KEY_ENV);
  if (api) sources.api_key = api.source;
  return { keys, apiKey: api?.value ?? null, sources, apiKeyFor: lookup };
}

/** One trailing newline is what editors and `echo` add; anything else is the user's to see. */
function stripOneNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

async function readDotenv(opts: LoadKeysOptions): Promise<{ values: Record<string, string>; label: string }> {
  const explicit = opts.envFile !== undefined;
  const path = explicit ? (opts.envFile as string) : resolve(opts.cwd ?? process.cwd(), '.env');
  const label = explicit ? `env file ${opts.envFile}` : '.env';
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!explicit && code === 'ENOENT') return { values: {}, label };
    throw usageError(
      `cannot read --env-file ${path}: ${describe(code)}`,
      'Check the path, or leave --env-file out to use ./.env.',
    );
  }
  const values = parseDotenv(text, (line, why) => opts.warn(`${label}:${line}: ${why}; ignored`));
  return { values, label };
}

async function readKeyFile(path: string): Promise<string> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw usageError(
      `cannot read --secret-key-file ${path}: ${describe((err as NodeJS.ErrnoException).code)}`,
      'Check the path; use "-" to read the key from stdin.',
    );
  }
  if (data.length > MAX_KEY_FILE_BYTES) {
    throw usageError(
      `--secret-key-file ${path} is ${data.length} bytes: not a key file`,
      'The file must hold the key alone.',
    );
  }
  return data.toString('utf8');
}

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  if ((stream as { isTTY?: boolean }).isTTY) {
    // Typing a secret into a terminal echoes it on screen and in scrollback.
    throw usageError(
      '--secret-key-file - reads the key from stdin, which is a terminal',
      'Pipe it in, e.g. pass show stripe/sk | keyfleet validate --secret-key-file -, or set STRIPE_SECRET_KEY.',
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_KEY_FILE_BYTES)
      throw usageError('stdin holds more than a key', 'Pipe the key alone into --secret-key-file -.');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(code: string | undefined): string {
  if (code === 'ENOENT') return 'not found';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return code ?? 'unreadable';
}
