import { fingerprint, last4, maskKey } from '../protocol/fingerprint.js';
import { keyMode, type KeyMode } from '../protocol/key-formats.js';
import { SETTING_NAMES, SETTINGS, type SettingName } from '../protocol/settings.js';
import type { KeySet } from '../keys/key-source.js';
import { KIND_LABEL, withoutOddities } from '../keys/key-oddities.js';
import type { Problem } from '../keys/validate-keys.js';

/**
 * The two faces of `keyfleet validate`'s result: lines for a person (✔/✖ per key, then the fix from
 * the guide under each problem) and one JSON document for a script. Keys appear as maskKey(), last4
 * and fingerprint only — the same identifiers sites report, so outputs can be compared.
 */
export interface ValidateReport {
  ok: boolean;
  mode: KeyMode | null;
  live: boolean;
  keys: KeySet;
  sources: Record<string, string>;
  problems: Problem[];
  warnings: Problem[];
}

export interface StripeCheck {
  /** false when the call was not made (no secret, or a malformed one). */
  checked: boolean;
  livemode: boolean | null;
  reason?: string;
}

/** Masked form for display; whitespace is dropped first so a stray newline cannot break the line. */
function shown(value: string): string {
  return value === '' ? '(empty)' : maskKey(withoutOddities(value));
}

/** last4 only where maskKey would show a tail too: a short value's last 4 would be most of it. */
function safeLast4(value: string): string | null {
  return maskKey(value).endsWith('…') ? null : last4(value);
}

function present(keys: KeySet): SettingName[] {
  return SETTING_NAMES.filter((name) => keys[name] !== undefined);
}

export function renderJson(
  report: ValidateReport,
  stripe: StripeCheck | null,
  extraWarnings: Problem[],
): string {
  const keys: Record<string, unknown> = {};
  for (const name of present(report.keys)) {
    const value = report.keys[name] as string;
    keys[name] = {
      masked: shown(value),
      last4: safeLast4(value),
      fingerprint: fingerprint(value),
      mode: keyMode(value),
      length: value.length,
      source: report.sources[name] ?? null,
    };
  }
  const doc = {
    ok: report.ok,
    mode: report.mode,
    live: report.live,
    keys,
    problems: report.problems,
    warnings: [...report.warnings, ...extraWarnings],
    ...(stripe ? { stripe } : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export function renderHuman(report: ValidateReport, stripe: StripeCheck | null): string {
  const out: string[] = [];
  const names = present(report.keys);
  const width = Math.max(0, ...names.map((n) => KIND_LABEL[SETTINGS[n].kind].length));
  const explain = (p: Problem, mark: string) => {
    out.push(`  ${mark} ${p.message}`);
    if (p.hint) out.push(`      fix: ${p.hint}`);
  };

  for (const name of names) {
    const value = report.keys[name] as string;
    const own = report.problems.filter((p) => p.setting === name);
    const mode = keyMode(value) ?? '-';
    const label = KIND_LABEL[SETTINGS[name].kind].padEnd(width);
    const from = report.sources[name] ? `  from ${report.sources[name]}` : '';
    out.push(
      `${own.length === 0 ? '✔' : '✖'} ${label}  ${shown(value)}  ${mode}  ${value.length} chars  fp ${fingerprint(value)}${from}`,
    );
    for (const p of own) explain(p, '✖');
    for (const w of report.warnings.filter((x) => x.setting === name)) explain(w, '⚠');
  }
  for (const p of report.problems.filter((x) => x.setting === null)) explain(p, '✖');
  for (const w of report.warnings.filter((x) => x.setting === null)) explain(w, '⚠');

  if (stripe?.checked && stripe.livemode !== null) {
    out.push(`✔ Stripe accepted the secret key (${stripe.livemode ? 'live' : 'test'} mode)`);
  } else if (stripe && !stripe.checked && stripe.reason) {
    out.push(`- Stripe check: ${stripe.reason}`);
  }

  const count = report.problems.length;
  if (report.ok) {
    const live = report.live ? ' — live keys: a push will ask you to confirm' : '';
    out.push(`✔ keys are fit to push${report.mode ? ` (${report.mode} mode)` : ''}${live}`);
  } else {
    out.push(
      `✖ ${count} problem${count === 1 ? '' : 's'}: fix ${count === 1 ? 'it' : 'them'} before pushing (nothing was sent)`,
    );
  }
  return `${out.join('\n')}\n`;
}
