import { fingerprint } from '../protocol/fingerprint.js';
import { SETTINGS, type SettingName } from '../protocol/settings.js';
import type { SiteSnapshot, Unverifiable } from '../store/state-store.js';
import type { SiteClient } from './site-client.js';
import { SiteError } from './site-error.js';
import type { PreflightOptions, ProtocolTask, Tallying } from './protocol-task.js';

/**
 * The `seed` protocol: how keyfleet talks to a site of the original template (SEED_TEMPLATE.md).
 * - The key is proven with `GET /api/export/stats` before anything is written: a PUT with an
 *   unproven key would make the site create (and publish) an `export_api_key`.
 * - Only the publishable key and the price id can be read (public routes); secrets are `unknown`.
 * - Writes: the secret first, then the publishable key, then the rest; a refusal stops the site.
 * - Proof: public values read `SEED_PROOF_READS` times, each on a new connection, so several worker
 *   processes (each caching settings for up to 5 minutes) are seen; a secret is `written`, never
 *   verified (it cannot be read back, not even as a fingerprint).
 */
export const SEED_PROOF_READS = 3;

const SECRETS: SettingName[] = ['stripe_secret_key', 'stripe_webhook_secret'];

export const SEED_CACHE_REASON =
  "some reads still return the previous value: the site's workers cache settings for up to 5 minutes; run keyfleet verify --wait 300";

export const SEED_SECRET_REASON =
  'a seed site cannot read a secret back, not even as a fingerprint: its PUT answered saved (format accepted and stored), nothing more; a STRIPE_SECRET_KEY in the site\'s environment would still win, and checkout uses it only after the site restarts';

/** The restart hint of SEED_TEMPLATE.md point 5, said once per run where a seed site got a secret. */
export const SEED_RESTART_HINT =
  "seed sites: a pushed secret key is used by new checkouts only after the site's processes restart (e.g. systemctl restart gunicorn, or docker restart); a STRIPE_SECRET_KEY in the site's environment wins over it.";

export async function seedPreflight(
  client: SiteClient,
  task: ProtocolTask,
  apiKey: string,
  tally: Tallying,
  opts: PreflightOptions,
): Promise<SiteSnapshot> {
  tally.add(await client.getExportStats(task.url, apiKey));
  const readPrice = opts.full === true || task.desired.stripe_price_id !== undefined;
  const pk = tally.add(await client.getSeedPublishableKey(task.url, readPrice ? {} : opts));
  const price = readPrice ? tally.add(await client.getPriceId(task.url, opts)) : null;
  return {
    publishable_key: pk,
    price_id: price,
    fingerprints: {
      stripe_publishable_key: pk === null ? null : fingerprint(pk),
      stripe_secret_key: null,
      stripe_webhook_secret: null,
      stripe_price_id: price === null ? null : fingerprint(price),
    },
    protocol: 'seed',
    unknown: readPrice ? [...SECRETS] : [...SECRETS, 'stripe_price_id'],
  };
}

/** Seed order: the secret first, then the publishable key, then the rest (SEED_TEMPLATE.md point 8). */
export function seedWriteOrder(changes: readonly SettingName[]): SettingName[] {
  const rank = (n: SettingName) => (n === 'stripe_secret_key' ? 0 : n === 'stripe_publishable_key' ? 1 : 2);
  return [...changes].sort((a, b) => rank(a) - rank(b));
}

/** rk_ keys are refused by seed sites: said before anything is sent. */
export function refuseRestrictedKey(url: string, desired: ProtocolTask['desired']): void {
  if (desired.stripe_secret_key?.startsWith('rk_')) {
    throw new SiteError({ code: 'restricted_key_unsupported', url, attempts: 0 });
  }
}

export async function seedWrite(client: SiteClient, task: ProtocolTask, apiKey: string, changes: readonly SettingName[], tally: Tallying): Promise<void> {
  for (const name of changes) tally.add(await client.putSetting(task.url, name, task.desired[name] ?? '', apiKey, 'seed'));
}

export interface SeedProof {
  /** Settings some read still disagrees on (not yet verified). */
  stale: SettingName[];
  /** Settings no read returned as desired (with a wait: drift). */
  wrong: SettingName[];
  unverifiable: Unverifiable[];
}

/** Public values read several times; secrets listed as unverifiable. */
export async function seedProve(
  client: SiteClient,
  task: ProtocolTask,
  settings: readonly SettingName[],
  tally: Tallying,
  reads = SEED_PROOF_READS,
): Promise<SeedProof> {
  const proof: SeedProof = { stale: [], wrong: [], unverifiable: [] };
  for (const name of settings) {
    const want = task.desired[name];
    if (want === undefined) continue;
    if (SETTINGS[name].secret) {
      proof.unverifiable.push({ setting: name, reason: SEED_SECRET_REASON });
      continue;
    }
    let agree = 0;
    for (let i = 0; i < reads; i++) {
      // A new connection per read: each may land on another worker process.
      const got = name === 'stripe_publishable_key'
        ? tally.add(await client.getSeedPublishableKey(task.url, { close: true }))
        : tally.add(await client.getPriceId(task.url, { close: true }));
      if (got === want) agree += 1;
    }
    if (agree === 0) proof.wrong.push(name);
    else if (agree < reads) proof.stale.push(name);
  }
  return proof;
}
