import { Command, CommanderError, Option } from 'commander';
import { PACKAGE_VERSION } from '../template/config.js';
import { maskSecrets } from '../protocol/fingerprint.js';
import { EXIT } from '../protocol/error-catalog.js';
import { CliError } from '../protocol/cli-error.js';
import { terminalLines } from '../terminal/terminal-text.js';

/**
 * The CLI's entry point: declares the commands, loads each one lazily, and is the only place that
 * maps errors to exit codes (0 ok · 1 some sites failed · 2 usage · 3 halted · 130 cancelled).
 * A command returns its exit code; it never calls process.exit.
 */
type Run = (opts: Record<string, unknown>) => Promise<number | void>;
const lazy =
  (load: () => Promise<Run>) =>
  async (...args: unknown[]) => {
    // commander passes (…positionals, options, command); options are the second to last.
    const opts = { ...(args.at(-2) as Record<string, unknown>), _args: args.slice(0, -2) };
    const code = await (await load())(opts);
    if (typeof code === 'number') process.exitCode = code;
  };

/** commander's way to repeat an option: each occurrence appended. */
const collect = (value: string, previous: string[]) => [...previous, value];

/** Options shared by every command that reads a fleet. */
function fleetOptions(cmd: Command): Command {
  return cmd
    .option('--sites-file <path>', 'sites: one URL per line (# comments), or a YAML inventory (.yml/.yaml)')
    .option('--tag <tag>', 'only sites with this tag (YAML inventory)')
    .option('--limit <n>', 'only the first N sites')
    .option('--concurrency <n>', 'HTTP requests in flight, fleet-wide', '16')
    .option('--timeout <seconds>', 'per-request timeout', '8')
    .option('--retries <n>', 'retries of a safe-to-retry failure (timeouts, resets, 429, 502-504)', '2')
    .option('--allow-http', 'allow plain http:// to non-loopback hosts')
    .option('--json', 'one JSON document on stdout (progress goes to stderr)')
    .option('--verbose', 'per-request detail (secrets masked)')
    .option('--protocol <protocol>', 'seed (the original template), keyfleet, or auto: detect per site (default)');
}

/** Options that say where the keys come from. */
function keyOptions(cmd: Command): Command {
  return cmd
    .option('--env-file <path>', 'read keys from this .env file (default: ./.env when present)')
    .option('--secret-key-file <path>', 'read the secret key from a file ("-" for stdin)')
    .addOption(new Option('--secret-key <key>', 'the secret key (leaks into shell history: prefer the environment)').hideHelp())
    .addOption(new Option('--publishable-key <key>', 'the publishable key').hideHelp());
}

function buildProgram(): Command {
  const program = new Command('keyfleet')
    .description('Move Stripe keys to a fleet of template sites — safely, fast, and provably.')
    .version(PACKAGE_VERSION)
    .exitOverride()
    .showHelpAfterError();

  keyOptions(fleetOptions(program.command('push')))
    .description('push Stripe keys to every site, then verify each one')
    .addOption(new Option('--only <kinds>', 'push only these: pk, sk, webhook, price (comma-separated)'))
    .option('--dry-run', 'do everything except the writes; show what would change')
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'alias of --yes (as in the old scripts)')
    .option('--canary <n>', 'sites pushed and verified first; any failure halts the run', '1')
    .option('--max-failures <n|%>', 'stop starting new sites once this many failed', '10%')
    .option('--preflight-all', 'preflight every site before the canary; halt before any write if too many fail')
    .option('--check-stripe', 'one read-only Stripe call with the secret before pushing')
    .option('--resume <run-id>', 'finish an interrupted run')
    .option('--retry-failed <run-id>', 'push only the sites that failed in that run')
    .option('--read-back', 'after an atomic write, read the key view again instead of trusting its answer')
    .action(lazy(async () => (await import('./commands/push.js')).push as Run));

  keyOptions(fleetOptions(program.command('verify')))
    .description('check every site holds the expected keys (pk by value, sk by fingerprint)')
    .option('--expect-pk <pk>', 'the publishable key every site must serve')
    .option('--wait <seconds>', 'seed sites: read again until every worker serves the value, up to this long')
    .action(lazy(async () => (await import('./commands/verify.js')).verify as Run));

  fleetOptions(program.command('backup'))
    .description('write what every site has now (pk, secret fingerprints) to a JSON file')
    .option('-o, --output <path>', 'file to write (default keys_backup_<timestamp>.json)')
    .action(lazy(async () => (await import('./commands/backup.js')).backup as Run));

  fleetOptions(program.command('rollback'))
    .description('put back what sites had, from a backup file or a recorded run')
    .option('--from <backup>', 'a keyfleet backup, or the guide\'s flat {"url": "pk"} backup')
    .option('--run <run-id>', 'restore what each site had before that run')
    .option('--dry-run', 'show what would change, write nothing')
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'alias of --yes')
    .action(lazy(async () => (await import('./commands/rollback.js')).rollback as Run));

  fleetOptions(program.command('doctor [url]'))
    .description('the troubleshooting guide, automated: URL, DNS, TCP, TLS, HTTP, API key, Stripe')
    .option('--stripe', 'also ask each site to make one read-only Stripe call (POST /api/test-stripe)')
    .option('--env-file <path>', 'read keys from this .env file (default: ./.env when present)')
    .option('--ca-file <path>', 'also trust this CA certificate (PEM), e.g. a private PKI')
    .action(lazy(async () => (await import('./commands/doctor.js')).doctor as Run));

  keyOptions(program.command('validate'))
    .description('check key formats, lengths and the test/live mix, locally')
    .option('--check-stripe', 'also make one read-only Stripe call with the secret')
    .option('--json', 'machine-readable result')
    .action(lazy(async () => (await import('./commands/validate.js')).validate as Run));

  program
    .command('history')
    .description('every recorded run, newest first')
    .option('--json', 'as JSON')
    .option('--csv', 'as CSV (the guide\'s propagation_history.csv columns, then ours)')
    .option('--limit <n>', 'at most N runs', '50')
    .action(lazy(async () => (await import('./commands/history.js')).history as Run));

  program
    .command('rotate-credentials')
    .description("give registered sites their own API key, with no gap (rotate, then confirm with the new key)")
    .option('--site <ref...>', 'site id, name or URL (repeatable); default: every registered site')
    .option('--tag <tag>', 'only sites with this tag')
    .option('--retire-shared-key', 'the sites then stop accepting TEMPLATE_MASTER_API_KEY')
    .option('--timeout <seconds>', 'per-request timeout', '8')
    .option('--retries <n>', 'retries of a safe-to-retry failure', '2')
    .option('--allow-http', 'allow plain http:// to non-loopback hosts')
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'alias of --yes')
    .action(lazy(async () => (await import('./commands/rotate-credentials.js')).rotateCredentials as Run));

  const sites = program
    .command('sites')
    .description("the dashboard's own registry of sites (its state database: KEYFLEET_DB, or DATABASE_URL=postgres://…)");
  sites
    .command('add <url>')
    .description('register a site (https://; http:// only to loopback or with --allow-http)')
    .option('--name <name>', 'a unique name (default: the URL without its scheme)')
    .option('--tag <tag>', 'a tag (repeatable, or comma-separated)', collect, [])
    .option('--api-key-env <variable>', "the environment variable holding the site's own API key (stored sealed; never on the command line)")
    .option('--allow-http', 'allow plain http:// to a non-loopback host')
    .action(lazy(async () => (await import('./commands/sites.js')).sitesAdd as Run));
  sites
    .command('approve <site>')
    .description('let a site that registered itself receive keys (by id, name or URL); the dashboard pushes it on its next run')
    .action(lazy(async () => (await import('./commands/sites-approve.js')).sitesApprove as Run));
  sites
    .command('rm <site>')
    .alias('remove')
    .description('remove a site from the registry, by id, name or URL')
    .action(lazy(async () => (await import('./commands/sites.js')).sitesRemove as Run));
  sites
    .command('ls')
    .alias('list')
    .description('list the registered sites (a site\'s own API key shows as yes/no, never its value)')
    .option('--tag <tag>', 'only sites with this tag (repeatable: any of them)', collect, [])
    .option('--json', 'one JSON array of sites, as GET /api/admin/sites shows them')
    .action(lazy(async () => (await import('./commands/sites.js')).sitesList as Run));
  sites
    .command('import <file>')
    .description("import the seed's sites file (one URL per line) or a YAML inventory (tags, api_key_env)")
    .option('--format <format>', 'seed or yaml (default: yaml for .yml/.yaml files)')
    .option('--tag <tag>', 'a tag added to every imported site (repeatable)', collect, [])
    .option('--allow-http', 'allow plain http:// to non-loopback hosts')
    .action(lazy(async () => (await import('./commands/sites.js')).sitesImport as Run));

  program
    .command('demo')
    .description('a local fleet of template sites, pushed and verified with made-up test keys')
    .option('--sites <n>', 'how many sites', '3')
    .option('--exit', 'stop after the push and verify instead of serving until Ctrl-C')
    .action(lazy(async () => (await import('./commands/demo.js')).demo as Run));

  program
    .command('template')
    .description('serve a template site (the settings API every site runs)')
    .option('--port <port>', 'port to listen on (env PORT, default 5000)')
    .option('--host <host>', 'address to bind (env HOST, default 127.0.0.1)')
    .action(lazy(async () => (await import('./commands/template.js')).template as Run));

  program
    .command('dashboard')
    .description('serve the web dashboard and its JSON API (env KEYFLEET_ADMIN_PASSWORD / KEYFLEET_ADMIN_TOKEN)')
    .option('--port <port>', 'port to listen on (env PORT, default 4400)')
    .option('--host <host>', 'address to bind (env HOST, default 127.0.0.1)')
    .option('--concurrency <n>', 'HTTP requests in flight to sites, dashboard-wide (default 16)')
    .option('--timeout <seconds>', 'per-request timeout to sites (default 8)')
    .option('--retries <n>', 'retries of a safe-to-retry failure (default 2)')
    .option('--allow-http', 'allow plain http:// to non-loopback sites')
    .option('--trust-proxy <hops|cidrs>', 'behind reverse proxies: how many (e.g. 1), or their addresses/CIDRs, whose X-Forwarded-For/-Proto count')
    .action(lazy(async () => (await import('./commands/dashboard.js')).dashboard as Run));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof CliError) {
      process.stderr.write(`keyfleet: ${terminalLines(maskSecrets(err.message))}\n`);
      if (err.hint) process.stderr.write(`  fix: ${maskSecrets(err.hint)}\n`);
      return err.exitCode;
    }
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`keyfleet: ${terminalLines(maskSecrets(message))}\n`);
    // Configuration and startup problems are the operator's to fix, like usage errors.
    return code === 'config_error' || code === 'startup_error' || code === 'invalid_database_url' ? EXIT.usage : EXIT.someFailed;
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
