/**
 * A small `.env` reader: `KEY=VALUE` lines, an optional `export ` prefix, `#` comments, single or
 * double quotes. Written here rather than taken from util.parseEnv because that only exists from
 * Node 20.12 (we support 20.9) and because of one deliberate difference: an unquoted value keeps its
 * trailing spaces. The guide treats whitespace in a key as an error to report, not a typo to forgive,
 * so validation must get to see it; only the spaces around `=` are formatting.
 *
 * Lines that are not assignments are reported through `onSkip` (line number only — the line may hold
 * a secret) and ignored, since a `.env` is often shared with other tools that have their own syntax.
 *
 * @example parseDotenv('export STRIPE_SECRET_KEY="sk_test_…" # test mode\n') // { STRIPE_SECRET_KEY: 'sk_test_…' }
 */
const ASSIGNMENT = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=[ \t]*(.*)$/;
const DOUBLE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

export function parseDotenv(
  text: string,
  onSkip: (line: number, why: string) => void = () => {},
): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const m = ASSIGNMENT.exec(line);
    if (!m) return onSkip(i + 1, 'not a KEY=VALUE line');
    const [, name = '', rest = ''] = m;
    const value = readValue(rest);
    if (value === null) return onSkip(i + 1, `${name}: unterminated quote`);
    out[name] = value;
  });
  return out;
}

/** The value part of one line, or null when a quote is left open. */
function readValue(rest: string): string | null {
  const quote = rest[0];
  if (quote === '"' || quote === "'") {
    let value = '';
    for (let i = 1; i < rest.length; i++) {
      const c = rest[i] as string;
      if (c === quote) return value; // anything after the closing quote is a comment or junk: ignored
      if (quote === '"' && c === '\\' && i + 1 < rest.length) {
        const next = rest[++i] as string;
        value += DOUBLE_ESCAPES[next] ?? `\\${next}`;
      } else {
        value += c;
      }
    }
    return null;
  }
  // Unquoted: a comment starts at whitespace + '#' and the spaces before it are layout; without a
  // comment, trailing spaces are kept so that validation reports them.
  const comment = rest.search(/\s#/);
  return comment === -1 ? rest : rest.slice(0, comment).replace(/\s+$/, '');
}
