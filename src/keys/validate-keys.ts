import { ERROR_CATALOG } from '../protocol/error-catalog.js';
import { maskKey } from '../protocol/fingerprint.js';
import { isValidKey, KEY_MIN_LENGTH, keyMode, type KeyMode } from '../protocol/key-formats.js';
import { SETTING_NAMES, SETTINGS, type SettingName } from '../protocol/settings.js';
import { describeOddities, EXPECTED_PREFIX, KIND_LABEL, kindOf, withoutOddities } from './key-oddities.js';
import type { KeySet } from './key-source.js';

/**
 * Local checks before anything is sent (DESIGN.md §2, the guide's "Key Format and Validation"):
 * each key's format (code = the setting's catalog code), a key put in the wrong slot, whitespace
 * (placed, never trimmed), a short key (warning), and a test/live mix between pk and sk (refused,
 * `mode_mismatch`). `only` (the `--only` list: 'pk,sk' or ['pk','sk']) limits what is checked and
 * makes each listed key required. Messages show keys through maskKey() only.
 *
 * @example
 *   const r = validateKeys({ stripe_secret_key: sk, stripe_publishable_key: pk }, { only: 'pk,sk' });
 *   if (!r.ok) for (const p of r.problems) stderr.write(`${p.message}\n  fix: ${p.hint}\n`);
 */
export type OnlyKind = 'pk' | 'sk' | 'webhook' | 'price';

export interface Problem {
  setting: SettingName | null;
  code: string;
  message: string;
  hint: string;
}

export interface KeyValidation {
  ok: boolean;
  problems: Problem[];
  warnings: Problem[];
  /** The mode of the pk/sk checked, when they agree; null when there are none or they disagree. */
  mode: KeyMode | null;
  /** Any checked key is a live one: callers ask for confirmation. */
  live: boolean;
}

const ONLY_KINDS: readonly OnlyKind[] = ['pk', 'sk', 'webhook', 'price'];
const BY_SHORT = new Map(SETTING_NAMES.map((name) => [SETTINGS[name].short as string, name]));

/** Parses `--only`; unknown kinds come back as problems (a usage error: nothing is sent). */
export function parseOnly(list: string | readonly string[]): {
  settings: SettingName[];
  problems: Problem[];
} {
  const items = (typeof list === 'string' ? list.split(',') : [...list]).map((s) => s.trim()).filter(Boolean);
  const settings: SettingName[] = [];
  const problems: Problem[] = [];
  const usage = (message: string): Problem => ({
    setting: null,
    code: 'invalid_only',
    message,
    hint: `Use a comma-separated list of ${ONLY_KINDS.join(', ')}, e.g. --only pk,sk.`,
  });
  if (items.length === 0) problems.push(usage('--only lists no kinds'));
  for (const item of items) {
    const setting = BY_SHORT.get(item.toLowerCase());
    if (setting === undefined) problems.push(usage(`--only: unknown kind '${item}'`));
    else if (!settings.includes(setting)) settings.push(setting);
  }
  return { settings, problems };
}

export function validateKeys(keys: KeySet, opts: { only?: string | readonly string[] } = {}): KeyValidation {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  let checked: SettingName[] = SETTING_NAMES.filter((name) => keys[name] !== undefined);
  if (opts.only !== undefined) {
    const only = parseOnly(opts.only);
    problems.push(...only.problems);
    for (const name of only.settings) {
      if (keys[name] === undefined) problems.push(missing(name));
    }
    checked = only.settings.filter((name) => keys[name] !== undefined);
  }

  for (const name of checked) {
    const value = keys[name] as string;
    const problem = checkFormat(name, value);
    if (problem) problems.push(problem);
    else if (SETTINGS[name].short === 'pk' || SETTINGS[name].short === 'sk') {
      if (value.length < KEY_MIN_LENGTH) {
        warnings.push({
          setting: name,
          code: 'key_too_short',
          message: `${label(name)} ${maskKey(value)} is ${value.length} characters; Stripe keys are typically ${KEY_MIN_LENGTH}+`,
          hint: 'Check the whole key was copied from https://dashboard.stripe.com/apikeys.',
        });
      }
    }
  }

  // Modes come from keys of the right kind, whitespace aside: a pk in the sk slot is its own problem.
  const modeOf = (name: SettingName): KeyMode | null => {
    const core = checked.includes(name) ? withoutOddities(keys[name] ?? '') : '';
    return kindOf(core) === SETTINGS[name].kind ? keyMode(core) : null;
  };
  const pk = modeOf('stripe_publishable_key');
  const sk = modeOf('stripe_secret_key');
  if (pk && sk && pk !== sk) {
    const [skShown, pkShown] = [keys.stripe_secret_key, keys.stripe_publishable_key].map((v) =>
      maskKey(withoutOddities(v ?? '')),
    );
    problems.push({
      setting: null,
      code: 'mode_mismatch',
      message: `the secret key is a ${sk} key (${skShown}) but the publishable key is a ${pk} key (${pkShown}): test and live keys are never mixed`,
      hint: 'Use a matching pair: both sk_test_/pk_test_ or both sk_live_/pk_live_ from https://dashboard.stripe.com/apikeys.',
    });
  }
  if (checked.length === 0 && opts.only === undefined) {
    problems.push({
      setting: null,
      code: 'nothing_to_push',
      message: `no keys found: none of ${SETTING_NAMES.map((n) => SETTINGS[n].envVar).join(', ')} is set`,
      hint: 'export STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY (or put them in .env), or pass --secret-key-file (- for stdin).',
    });
  }
  const modes = checked.map(modeOf).filter((m): m is KeyMode => m !== null);
  const mode = modes.length > 0 && modes.every((m) => m === modes[0]) ? (modes[0] ?? null) : null;
  return { ok: problems.length === 0, problems, warnings, mode, live: modes.includes('live') };
}

function label(name: SettingName): string {
  return KIND_LABEL[SETTINGS[name].kind];
}

function missing(name: SettingName): Problem {
  const spec = SETTINGS[name];
  return {
    setting: name,
    code: 'missing_key',
    message: `--only ${spec.short}: the ${label(name)} is not set (${spec.envVar})`,
    hint: `Set ${spec.envVar} in the environment or .env${spec.short === 'sk' ? ', or pass --secret-key-file' : ''}, or leave ${spec.short} out of --only.`,
  };
}

/** The first thing wrong with one value's format, or null when it matches. */
function checkFormat(name: SettingName, value: string): Problem | null {
  const spec = SETTINGS[name];
  const entry = ERROR_CATALOG[spec.formatError];
  const problem = (what: string, hint: string = entry.hint): Problem => ({
    setting: name,
    code: spec.formatError,
    message: `${label(name)} ${what}`,
    hint,
  });
  if (value === '') return problem(`is empty (${spec.envVar})`);
  const oddities = describeOddities(value);
  const core = withoutOddities(value);
  if (oddities.length > 0) {
    const shown = core === '' ? '' : `${maskKey(core)} `;
    return problem(
      `${shown}${oddities.join(', ')}: keys are never trimmed`,
      `Remove it where the key is kept, e.g. export ${spec.envVar}="$(echo "$${spec.envVar}" | tr -d '[:space:]')", or fix the file.`,
    );
  }
  if (isValidKey(spec.kind, value)) return null;
  const actual = kindOf(value);
  if (actual !== null && actual !== spec.kind) {
    return problem(
      `is a ${KIND_LABEL[actual]} (${maskKey(value)}), not a ${label(name)}: a ${label(name)} starts with ${EXPECTED_PREFIX[spec.kind]}`,
    );
  }
  if (/^["'`]|["'`]$/.test(value))
    return problem(`${maskKey(value.replace(/^["'`]|["'`]$/g, ''))} is wrapped in quotes: remove them`);
  if (actual === null) return problem(`${maskKey(value)} does not start with ${EXPECTED_PREFIX[spec.kind]}`);
  const bad = [...value.slice(prefixLength(value))].findIndex((c) => !/[A-Za-z0-9]/.test(c));
  const where =
    bad === -1
      ? 'has nothing after its prefix'
      : `contains a character other than letters and digits at position ${prefixLength(value) + bad + 1}`;
  return problem(`${maskKey(value)} ${where}`);
}

function prefixLength(value: string): number {
  return /^(?:(?:pk|sk|rk)_(?:test|live)_|whsec_|price_)/.exec(value)?.[0].length ?? 0;
}
