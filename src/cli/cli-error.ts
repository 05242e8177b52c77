import { EXIT } from '../protocol/error-catalog.js';

/**
 * An error that ends a command with a given exit code and a message for the operator. Commands throw
 * it; only the entry point (main.ts) turns it into output and an exit code.
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
