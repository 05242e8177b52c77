import { existsSync } from 'node:fs';
import { AddSiteBody } from '../dashboard/api-schemas.js';
import { DashboardError } from '../dashboard/errors.js';
import { EXIT } from '../protocol/error-catalog.js';
import { maskSecrets } from '../protocol/fingerprint.js';
import { checkTags } from '../store/fleet-records.js';
import { SiteExistsError } from '../store/fleet-store.js';
import {
  dashboardStateEnv,
  openStateStore,
  postgresStateUrl,
  stateDbPath,
} from '../store/open-state-store.js';
import type { StateStore } from '../store/state-store.js';
import { VaultKeyError } from '../store/key-vault.js';
import { catalogError, CliError } from '../protocol/cli-error.js';
import { actor } from './fleet-options.js';
import { printable } from './sites-format.js';

/**
 * What the `keyfleet sites` commands share: the dashboard's state database opened with the
 * dashboard's rule, the dashboard's and the store's refusals said for the command line (exit 2,
 * catalog codes, a fix that names a command), a site's own key taken from the environment and the
 * check that it will be sealed with the vault key the registry already uses. Output is masked.
 */

export const out = (text: string) => process.stdout.write(maskSecrets(text));
export const warn = (text: string) => process.stderr.write(`keyfleet: warning: ${maskSecrets(text)}\n`);
export const who = () => `cli:${actor()}`;
export const LIST_HINT = 'List the registered sites with: keyfleet sites ls';

/** The dashboard's state database. Without `create`, a missing SQLite file is not created (undefined). */
export async function openRegistry(create: boolean): Promise<StateStore | undefined> {
  const env = dashboardStateEnv(process.env);
  if (!create && postgresStateUrl({}, env) === undefined && !existsSync(stateDbPath({}, env)))
    return undefined;
  return openStateStore({ env, log: (m) => warn(m) });
}

/** The store's and the dashboard's refusals, said for the command line (exit 2, catalog codes). */
export function refusal(err: unknown): never {
  if (err instanceof DashboardError) {
    const hint =
      err.code === 'invalid_request' ? 'Fix the file and import it again: nothing was imported.' : undefined;
    throw catalogError(err.code, err.hasMessage ? err.message : undefined, hint);
  }
  if (err instanceof SiteExistsError) {
    throw catalogError(
      'site_exists',
      err.message,
      `${LIST_HINT}; remove it first (keyfleet sites rm) or choose another --name.`,
    );
  }
  if (err instanceof RangeError)
    throw catalogError('invalid_request', err.message, 'Fix it and run the command again.');
  if (err instanceof VaultKeyError) {
    throw new CliError(
      err.message,
      EXIT.usage,
      "Run with the dashboard's vault key: the same KEYFLEET_VAULT_KEY (or its vault.key next to the database).",
    );
  }
  throw err;
}

/** --tag values (repeatable, comma-separated), checked as the store checks tags. */
export function tagsOf(values: readonly string[] | undefined): string[] {
  const tags = (values ?? [])
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  try {
    return checkTags(tags);
  } catch (err) {
    return refusal(err);
  }
}

/** The value of the variable named by --api-key-env, checked like the dashboard's `api_key`; never echoed. */
export function apiKeyFromEnv(variable: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
    throw catalogError(
      'invalid_request',
      `--api-key-env takes the name of an environment variable (got "${printable(variable)}").`,
      'e.g. --api-key-env SHOP_API_KEY, after: export SHOP_API_KEY=…',
    );
  }
  const value = process.env[variable];
  if (!value) {
    throw catalogError(
      'no_api_key',
      `${variable} is not set (or empty) in this environment.`,
      `export ${variable}=<the site's API key> first (it is read from the environment, never from the command line), or leave --api-key-env out: the site then uses TEMPLATE_MASTER_API_KEY.`,
    );
  }
  if (!AddSiteBody.shape.api_key.safeParse(value).success) {
    throw catalogError(
      'invalid_request',
      `${variable} does not hold a usable API key: 16 to 4096 characters, no whitespace.`,
      "Check the value for spaces or line breaks (tr -d '[:space:]'); a new key: openssl rand -base64 32.",
    );
  }
  return value;
}

/**
 * Sealing with another key than the dashboard's would leave a key nobody can open: when the vault
 * already holds a sealed value, open one first (VaultKeyError on a different key).
 */
export async function checkVaultKey(state: StateStore): Promise<void> {
  const sealed = (await state.fleet.listSites()).find((s) => s.has_api_key);
  if (sealed) {
    await state.fleet.siteApiKey(sealed.id);
    return;
  }
  const version = (await state.listKeyVersions())[0];
  const [setting, key] = Object.entries(version?.keys ?? {})[0] ?? [];
  if (setting && key) await state.secretByFingerprint(setting, key.fingerprint);
}
