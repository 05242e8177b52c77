import { describe, expect, it } from 'vitest';
import { terminalLines, terminalText } from '../../src/terminal/terminal-text.js';

/** Issue 12: a site's text cannot forge output, retitle the window or write the clipboard. */
describe('terminalText', () => {
  it.each([
    ['a forged green ok line', 'boom\r\x1b[2K\x1b[32mok       https://shop\x1b[0m', 'boom?ok       https://shop'],
    ['OSC 52 clipboard write (BEL)', 'x\x1b]52;c;cm0gLXJmIH4=\x07y', 'xy'],
    ['OSC title (ST)', 'x\x1b]0;pwned\x1b\\y', 'xy'],
    ['8-bit CSI', 'x\x9b31my', 'xy'],
    ['8-bit OSC', 'x\x9d0;t\x9cy', 'xy'],
    ['DCS', 'x\x1bPq#0;2;0;0;0\x1b\\y', 'xy'],
    ['C0 and DEL', 'a\x00c\x7fd\x08e', 'a?c?d?e'],
    ['bidi overrides', 'abc\u202edcb\u2066x', 'abc?dcb?x'],
    ['newlines in one line', 'one\ntwo', 'one?two'],
    ['an unterminated OSC', 'x\x1b]52;c;AAAA', 'x'],
  ])('%s', (_what, input, expected) => {
    const out = terminalText(input);
    expect(out).not.toMatch(/\p{Cc}/u);
    expect(out).toBe(expected);
  });

  it('keeps plain text and unicode as is, and keeps lines with terminalLines', () => {
    expect(terminalText('Café — ok ✓ 日本')).toBe('Café — ok ✓ 日本');
    expect(terminalLines('a\r\nb\x1b[31m\nc')).toBe('a\nb\nc');
  });
});
