import { describe, expect, it } from 'vitest';
import { parseDotenv } from '../../src/keys/dotenv.js';
import { makeKey } from '../helpers/keys.js';

/**
 * The .env reader: the usual syntax, and one deliberate difference from most loaders — trailing
 * spaces of an unquoted value are kept, so that validation can report them instead of hiding them.
 */
describe('parseDotenv', () => {
  it('reads KEY=VALUE, export, quotes, comments and blank lines', () => {
    const sk = makeKey('sk');
    const pk = makeKey('pk');
    const text = [
      '# keys for the fleet',
      '',
      `STRIPE_SECRET_KEY=${sk}`,
      `export STRIPE_PUBLISHABLE_KEY="${pk}"   # test mode`,
      "STRIPE_PRICE_ID='price_abc'",
      'TEMPLATE_MASTER_API_KEY = spaced-around-equals',
      'EMPTY=',
      '   INDENTED=yes',
      'WITH_COMMENT=value # a comment',
      'HASH_IN_VALUE=abc#def',
    ].join('\n');
    expect(parseDotenv(text)).toEqual({
      STRIPE_SECRET_KEY: sk,
      STRIPE_PUBLISHABLE_KEY: pk,
      STRIPE_PRICE_ID: 'price_abc',
      TEMPLATE_MASTER_API_KEY: 'spaced-around-equals',
      EMPTY: '',
      INDENTED: 'yes',
      WITH_COMMENT: 'value',
      HASH_IN_VALUE: 'abc#def',
    });
  });

  it('keeps whitespace inside quotes and the trailing spaces of an unquoted value', () => {
    expect(parseDotenv('A="abc "\nB=abc  \nC=\'\tabc\'\n')).toEqual({ A: 'abc ', B: 'abc  ', C: '\tabc' });
  });

  it('turns \\n, \\t and \\" into characters inside double quotes only', () => {
    expect(parseDotenv('A="x\\ny"\nB=\'x\\ny\'\nC="say \\"hi\\""\n')).toEqual({
      A: 'x\ny',
      B: 'x\\ny',
      C: 'say "hi"',
    });
  });

  it('handles CRLF and a BOM', () => {
    expect(parseDotenv('\uFEFFA=1\r\nB="2"\r\n')).toEqual({ A: '1', B: '2' });
  });

  it('lets the last assignment win, like a shell', () => {
    expect(parseDotenv('A=1\nA=2\n')).toEqual({ A: '2' });
  });

  it('skips lines that are not assignments and unterminated quotes, reporting only the line number', () => {
    const secret = makeKey('sk', 'live');
    const skipped: string[] = [];
    const values = parseDotenv(`A=1\n${secret}\nB="${secret}\nC=3\n`, (line, why) =>
      skipped.push(`${line}: ${why}`),
    );
    expect(values).toEqual({ A: '1', C: '3' });
    expect(skipped).toEqual(['2: not a KEY=VALUE line', '3: B: unterminated quote']);
    expect(skipped.join('\n')).not.toContain(secret.slice(8));
  });
});
