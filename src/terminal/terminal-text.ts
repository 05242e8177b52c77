/**
 * Text from elsewhere (a site's error message, a stored name, a URL) made safe for a terminal
 * (issue 12): a site that answers `\x1b[2K\r\x1b[32mok` must not erase the failure line and print a
 * green "ok", and OSC sequences must not set the window title or write the clipboard (OSC 52).
 * Whole escape sequences are removed (CSI, OSC, DCS/PM/APC, two-character ESC sequences), then
 * every remaining control character — C0, DEL, C1 (8-bit CSI 0x9b included) — and the bidi
 * overrides that reorder what is shown (Trojan Source) become `?`. Our own colours are added after
 * this, never passed through it.
 *
 * @example terminalText('\x1b]52;c;ZXZpbA==\x07oops\x1b[31m') // 'oops'
 */
const SEQUENCES = new RegExp(
  [
    '\\x1b\\[[0-?]*[ -/]*[@-~]', // CSI … final byte
    '\\x1b[\\]PX^_][\\s\\S]*?(?:\\x07|\\x1b\\\\|\\x9c|$)', // OSC/DCS/SOS/PM/APC … BEL or ST
    '\\x9b[0-?]*[ -/]*[@-~]', // 8-bit CSI
    '[\\x90\\x9d\\x98\\x9e\\x9f][\\s\\S]*?(?:\\x07|\\x9c|\\x1b\\\\|$)', // 8-bit DCS/OSC/SOS/PM/APC
    '\\x1b[ -/]*[0-~]', // other ESC sequences (charset, keypad, RIS…)
  ].join('|'),
  'g',
);
const CONTROLS = /[\p{Cc}\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/gu;

/** One line: escape sequences removed, every other control character (newlines too) shown as `?`. */
export function terminalText(text: string): string {
  return text.replace(SEQUENCES, '').replace(CONTROLS, '?');
}

/** Several lines: as terminalText, but `\n` kept (and `\r\n` read as `\n`). */
export function terminalLines(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map(terminalText)
    .join('\n');
}
