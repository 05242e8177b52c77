import { z } from 'zod';
import type { ErrorCode } from './error-catalog.js';
import type { KeyMode } from './key-formats.js';
import type { SettingName } from './settings.js';

/**
 * Request and response bodies of the template site's wire contract. Request schemas are zod (the
 * site validates with them, the OpenAPI document is generated from them); response types are what
 * the CLI parses, and the zod response schemas let the CLI refuse a 2xx that is not the documented JSON.
 */

const MAX_VALUE = 4096;

// No length cap here: an over-long value is a format error of that setting (the site checks it).
export const SettingPutBody = z.object({ value: z.string() });
export type SettingPutBody = z.infer<typeof SettingPutBody>;

/**
 * `PUT /api/export/settings`: several settings written in one transaction (the atomic write). Every
 * value is validated before any is written; the answer is the authenticated key view as committed.
 */
export const SettingsPutBody = z.object({ values: z.record(z.string(), z.string()) });
export type SettingsPutBody = z.infer<typeof SettingsPutBody>;

/** What a site's authenticated key view lists in `capabilities` (defined zod-free in capabilities.ts). */
export { CAPABILITIES, type Capability } from './capabilities.js';

export const LaunchBody = z.object({
  domain: z
    .string()
    .min(3)
    .max(253)
    .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'not a domain name'),
  email: z.string().max(254).pipe(z.email()),
  type: z.string().min(1).max(64).regex(/^[a-z0-9_-]+$/i, 'letters, digits, - and _ only'),
});
export type LaunchBody = z.infer<typeof LaunchBody>;

export const RotateBody = z.object({ new_key: z.string().max(MAX_VALUE) });
export type RotateBody = z.infer<typeof RotateBody>;

export const ConfirmBody = z
  .object({
    /** Also stop accepting TEMPLATE_MASTER_API_KEY from the environment (the shared key is retired). */
    retire_shared_key: z.boolean().optional(),
  })
  // No body at all (curl -X POST) arrives as null: the same as {}.
  .nullish();
export type ConfirmBody = z.infer<typeof ConfirmBody>;

// --- responses ---------------------------------------------------------------------------------

export const ErrorBody = z.object({ success: z.literal(false), error: z.string(), message: z.string() });
/** `setting`: which setting a 400 of the atomic write refused. */
export type ErrorBody = { success: false; error: ErrorCode; message: string; setting?: SettingName };

export const PkBody = z.object({ success: z.literal(true), publishable_key: z.string() });
export type PkBody = z.infer<typeof PkBody>;

export const SavedBody = z.object({ success: z.literal(true), message: z.string() });
export type SavedBody = z.infer<typeof SavedBody>;

export const KeyInfo = z.object({
  /** The value itself, only for public settings (publishable key, price id) — never for a secret. */
  value: z.string().optional(),
  fingerprint: z.string(),
  last4: z.string(),
  mode: z.enum(['test', 'live']).nullable(),
  source: z.enum(['settings', 'env']),
  /** The env var that also holds a value for this setting but is shadowed by the pushed one. */
  shadows_env: z.boolean(),
  updated_at: z.string().nullable(),
});
export type KeyInfo = z.infer<typeof KeyInfo>;

export const HealthStripeBody = z.object({
  success: z.literal(true),
  secret_key_configured: z.boolean(),
  publishable_key_configured: z.boolean(),
  environment: z.enum(['test', 'live']).nullable(),
  authenticated: z.boolean().optional(),
  /** Authenticated view only: what the site supports beyond the per-setting PUTs (e.g. `atomic_write`). */
  capabilities: z.array(z.string()).optional(),
  keys: z.record(z.string(), KeyInfo.nullable()).optional(),
});
export type HealthStripeBody = {
  success: true;
  secret_key_configured: boolean;
  publishable_key_configured: boolean;
  environment: KeyMode | null;
  authenticated?: true;
  capabilities?: string[];
  keys?: Record<SettingName, KeyInfo | null>;
};

export const HealthBody = z.object({
  status: z.enum(['ok', 'error']),
  version: z.string(),
  database: z.enum(['ok', 'error']),
});
export type HealthBody = z.infer<typeof HealthBody>;

export const TestStripeBody = z.object({ success: z.literal(true), livemode: z.boolean() });
export type TestStripeBody = z.infer<typeof TestStripeBody>;

export const LaunchResponse = z.object({
  success: z.literal(true),
  checkout_url: z.string(),
  session_id: z.string(),
});
export type LaunchResponse = z.infer<typeof LaunchResponse>;
