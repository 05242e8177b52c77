import { Command, CommanderError } from 'commander';
import { PACKAGE_VERSION } from '../template/config.js';
import { maskSecrets } from '../protocol/fingerprint.js';
import { EXIT } from '../protocol/error-catalog.js';
import { CliError } from './cli-error.js';

/**
 * The CLI's entry point: declares the commands, loads each one lazily, and is the only place that
 * maps errors to exit codes (0 ok · 1 some sites failed · 2 usage · 3 halted · 130 cancelled).
 */
function buildProgram(): Command {
  const program = new Command('keyfleet')
    .description('Move Stripe keys to a fleet of template sites — safely, fast, and provably.')
    .version(PACKAGE_VERSION)
    .exitOverride()
    .showHelpAfterError();

  program
    .command('template')
    .description('serve a template site (the settings API every site runs)')
    .option('--port <port>', 'port to listen on (env PORT, default 5000)')
    .option('--host <host>', 'address to bind (env HOST, default 127.0.0.1)')
    .action(async (opts) => (await import('./commands/template.js')).template(opts));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`keyfleet: ${maskSecrets(err.message)}\n`);
      if (err.hint) process.stderr.write(`  fix: ${err.hint}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`keyfleet: ${maskSecrets(message)}\n`);
    return EXIT.someFailed;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = EXIT.someFailed;
  },
);
