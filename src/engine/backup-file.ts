import { z } from 'zod';
import { SETTING_NAMES, SETTINGS, type SettingName } from '../protocol/settings.js';
import type { DesiredKeys } from './site-state.js';

/**
 * keyfleet's backup file: what every site held — public values in clear, secrets as fingerprint
 * and last4 only. `rollback --from` also reads the guide's flat `{"<url>": "<pk>"}` backup.
 */
export const BackupSite = z.object({
  publishable_key: z.string().nullable(),
  price_id: z.string().nullable(),
  secrets: z.record(z.string(), z.object({ fingerprint: z.string(), last4: z.string(), mode: z.enum(['test', 'live']).nullable() }).nullable()),
  /** Issue 9: a seed site; `unknown` lists the settings it cannot reveal (its secrets). */
  protocol: z.enum(['seed', 'keyfleet']).optional(),
  unknown: z.array(z.string()).optional(),
});
export type BackupSite = z.infer<typeof BackupSite>;

export const BackupFile = z.object({
  keyfleet_backup: z.literal(1),
  created_at: z.string(),
  sites: z.record(z.string(), BackupSite),
});
export type BackupFile = z.infer<typeof BackupFile>;

const FlatBackup = z.record(z.string(), z.string().nullable());

/** Parses either format; throws with a message saying which shapes are accepted. */
export function parseBackup(text: string): BackupFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error('the backup is not valid JSON.');
  }
  const ours = BackupFile.safeParse(data);
  if (ours.success) return ours.data;
  const flat = FlatBackup.safeParse(data);
  if (flat.success) {
    const sites: BackupFile['sites'] = {};
    // The guide's script writes "null" (a string, from jq -r) for a site that had no key.
    for (const [url, pk] of Object.entries(flat.data)) sites[url] = { publishable_key: pk === 'null' ? null : pk, price_id: null, secrets: {} };
    return { keyfleet_backup: 1, created_at: '', sites };
  }
  throw new Error('the backup is neither a keyfleet backup nor the guide\'s {"<site url>": "<pk>"} file.');
}

/** The secret settings a backup entry names, for lookup in the vault. */
export function secretFingerprints(site: BackupSite): Array<{ name: SettingName; fingerprint: string; last4: string }> {
  return SETTING_NAMES.filter((n) => SETTINGS[n].secret && site.secrets[n]).map((n) => ({
    name: n,
    fingerprint: site.secrets[n]?.fingerprint ?? '',
    last4: site.secrets[n]?.last4 ?? '',
  }));
}

export function publicDesired(site: BackupSite): DesiredKeys {
  const out: DesiredKeys = {};
  if (site.publishable_key) out.stripe_publishable_key = site.publishable_key;
  if (site.price_id) out.stripe_price_id = site.price_id;
  return out;
}
