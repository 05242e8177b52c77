import { styleText } from 'node:util';

/** Our own colours for terminal output (the CLI's reporters, keyfleet doctor's report). */

type Color = 'green' | 'red' | 'yellow' | 'cyan' | 'gray' | 'bold';

/** Colours only on a terminal, and never with NO_COLOR set (https://no-color.org) or TERM=dumb. */
export function colorsFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): (c: Color, s: string) => string {
  const on = stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  return on ? (c, s) => styleText(c, s) : (_c, s) => s;
}

export const STATUS_COLOR = { ok: 'green', failed: 'red', skipped: 'yellow', unchanged: 'cyan', pending: 'gray' } as const;
