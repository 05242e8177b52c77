/**
 * Which environment variables may hold a site's own API key (`api_key_env` of a YAML inventory
 * imported into the dashboard; issue 12). The dashboard sends that variable's value as X-API-Key to
 * the imported URL, so an inventory naming `KEYFLEET_VAULT_KEY` would post the vault key to whoever
 * wrote the file. Only names with the site-key prefix (`KEYFLEET_SITE_KEY_` by default,
 * KEYFLEET_SITE_KEY_ENV_PREFIX to change it) are read, and keyfleet's and the template's own
 * variables never are, whatever the prefix. One rule for every reader of api_key_env: the CLI's push
 * inventory can adopt it as is.
 *
 * @example checkSiteKeyEnv('KEYFLEET_SITE_KEY_SHOP') // null
 *          checkSiteKeyEnv('KEYFLEET_VAULT_KEY')     // 'KEYFLEET_VAULT_KEY is … refused …'
 */
export const DEFAULT_SITE_KEY_ENV_PREFIX = 'KEYFLEET_SITE_KEY_';

/** keyfleet's own secrets and settings, and the template site's: never a site's key. */
const INTERNAL = /^(?:KEYFLEET_|TEMPLATE_|STRIPE_|DATABASE_URL$|POSTGRES_|PG[A-Z]*$|METRICS_TOKEN$)/;
const NAME = /^[A-Z_][A-Z0-9_]*$/;

/** The configured prefix, refused when it is not a usable one (upper case, digits, ending in `_`). */
export function siteKeyEnvPrefix(env: NodeJS.ProcessEnv): string {
  const raw = env.KEYFLEET_SITE_KEY_ENV_PREFIX?.trim();
  if (raw === undefined || raw === '') return DEFAULT_SITE_KEY_ENV_PREFIX;
  if (!/^[A-Z][A-Z0-9_]{2,}_$/.test(raw))
    throw new RangeError(
      `KEYFLEET_SITE_KEY_ENV_PREFIX must be upper-case letters, digits and _, at least 4 characters, ending in _ (got "${raw}").`,
    );
  return raw;
}

/** Null when `name` may be read as a site's key, else why not (a message with the fix). */
export function checkSiteKeyEnv(name: string, prefix = DEFAULT_SITE_KEY_ENV_PREFIX): string | null {
  const fix = `put the site's key in a variable such as ${prefix}SHOP and name that`;
  if (!NAME.test(name) || !name.startsWith(prefix) || name.length === prefix.length)
    return `api_key_env ${name} does not start with ${prefix}: ${fix}`;
  if (INTERNAL.test(name) && !name.startsWith(DEFAULT_SITE_KEY_ENV_PREFIX))
    return `api_key_env ${name} is one of keyfleet's own variables and is never sent to a site: ${fix}`;
  return null;
}
