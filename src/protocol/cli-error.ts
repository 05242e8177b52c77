import { ERROR_CATALOG, EXIT, type ErrorCode } from './error-catalog.js';

/**
 * An error that ends a command with a given exit code and a message for the operator. Commands,
 * the engine (InventoryError) and the key sources throw it; only the CLI's entry point (cli/main.ts)
 * turns it into output and an exit code. It sits beside the catalog and EXIT it is built from, so
 * every layer can throw it without importing the CLI.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Usage or validation error: nothing was sent (exit 2). */
export function usageError(message: string, hint?: string): CliError {
  return new CliError(message, EXIT.usage, hint);
}

/**
 * A refusal named by a catalog code (exit 2: nothing was changed): the catalog's message and fix,
 * or this case's own, which should say the same for the command line (`keyfleet sites ls`, not the API).
 *
 * @example throw catalogError('site_not_found', `No registered site "${ref}".`, 'List them: keyfleet sites ls');
 */
export function catalogError(
  code: ErrorCode,
  message?: string,
  hint?: string,
): CliError & { code: ErrorCode } {
  const entry = ERROR_CATALOG[code];
  return Object.assign(new CliError(message ?? entry.message, EXIT.usage, hint ?? entry.hint), { code });
}
