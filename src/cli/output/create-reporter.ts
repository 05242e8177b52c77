import { HumanReporter } from './human-reporter.js';
import { JsonReporter } from './json-reporter.js';
import type { Reporter } from './reporter.js';

/**
 * Which reporter a command prints through: JSON with --json, human otherwise. Streams and environment
 * default to the process's own.
 */
export interface ReporterOptions {
  json: boolean;
  verbose: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

export function createReporter(o: ReporterOptions): Reporter {
  const out = o.stdout ?? process.stdout;
  const err = o.stderr ?? process.stderr;
  return o.json ? new JsonReporter(out, err, o.verbose) : new HumanReporter(out, err, o.verbose, o.env ?? process.env);
}
