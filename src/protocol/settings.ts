import type { ErrorCode } from './error-catalog.js';
import type { KeyKind } from './key-formats.js';

/**
 * The allowlist of settings a template site accepts from the dashboard. A PUT to any other name
 * is `unknown_setting`: the export API is never a generic key/value store.
 */
export interface SettingSpec {
  /** Name in the URL and in `admin_settings.key`. */
  readonly name: SettingName;
  /** Key format this setting must match. */
  readonly kind: KeyKind;
  /** Secrets are never returned by any route, and are encrypted at rest when a key is configured. */
  readonly secret: boolean;
  /** Error code of a value that does not match `kind`'s format. */
  readonly formatError: ErrorCode;
  /** `message` of the PUT's success body. */
  readonly savedMessage: string;
  /** Environment variable the site falls back to when nothing was pushed. */
  readonly envVar: string;
  /** Short name used by the CLI's `--only`. */
  readonly short: 'pk' | 'sk' | 'webhook' | 'price';
}

export type SettingName =
  | 'stripe_publishable_key'
  | 'stripe_secret_key'
  | 'stripe_webhook_secret'
  | 'stripe_price_id';

export const SETTINGS: Readonly<Record<SettingName, SettingSpec>> = {
  stripe_publishable_key: {
    name: 'stripe_publishable_key',
    kind: 'publishable_key',
    secret: false,
    formatError: 'invalid_publishable_key_format',
    savedMessage: 'publishable_key_saved',
    envVar: 'STRIPE_PUBLISHABLE_KEY',
    short: 'pk',
  },
  stripe_secret_key: {
    name: 'stripe_secret_key',
    kind: 'secret_key',
    secret: true,
    formatError: 'invalid_secret_format',
    savedMessage: 'secret_saved',
    envVar: 'STRIPE_SECRET_KEY',
    short: 'sk',
  },
  stripe_webhook_secret: {
    name: 'stripe_webhook_secret',
    kind: 'webhook_secret',
    secret: true,
    formatError: 'invalid_webhook_secret_format',
    savedMessage: 'webhook_secret_saved',
    envVar: 'STRIPE_WEBHOOK_SECRET',
    short: 'webhook',
  },
  stripe_price_id: {
    name: 'stripe_price_id',
    kind: 'price_id',
    secret: false,
    formatError: 'invalid_price_id_format',
    savedMessage: 'price_id_saved',
    envVar: 'STRIPE_PRICE_ID',
    short: 'price',
  },
};

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(SETTINGS, name);
}

/** Rows in `admin_settings` that hold the site's own API credentials (hashed, never the key). */
export const CREDENTIAL_SETTINGS = {
  current: 'template_master_api_key',
  pending: 'template_master_api_key_pending',
} as const;
