import { createInterface } from 'node:readline/promises';
import { EXIT } from '../protocol/error-catalog.js';
import { CliError, usageError } from '../protocol/cli-error.js';

/**
 * Every command that writes to sites asks for a typed "yes" unless --yes/--force was given. With no
 * terminal to ask on, it refuses (exit 2) rather than guess; anything but "yes" cancels (exit 130).
 */
export async function confirmWrite(
  question: string,
  opts: { yes?: boolean; force?: boolean },
  io: { stdin?: NodeJS.ReadStream; stderr?: NodeJS.WriteStream } = {},
): Promise<void> {
  if (opts.yes || opts.force) return;
  const stdin = io.stdin ?? process.stdin;
  const stderr = io.stderr ?? process.stderr;
  if (!stdin.isTTY) {
    throw usageError('refusing to write to sites without confirmation: there is no terminal to ask on.', 'Pass --yes (or --force) to confirm non-interactively.');
  }
  const rl = createInterface({ input: stdin, output: stderr });
  try {
    const answer = await rl.question(`${question} Type "yes" to continue: `);
    if (answer.trim() !== 'yes') throw new CliError('cancelled: nothing was written.', EXIT.cancelled);
  } finally {
    rl.close();
  }
}
