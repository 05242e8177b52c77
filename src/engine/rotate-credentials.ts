import { randomBytes } from 'node:crypto';
import { fingerprint } from '../protocol/fingerprint.js';
import type { FleetSite, FleetStore } from '../store/fleet-store.js';
import type { SiteClient } from './site-client.js';

export interface RotationResult {
  site: FleetSite;
  /** Fingerprint of the new key: what logs and the audit may show. */
  fingerprint: string;
}

export class RotationError extends Error {
  constructor(
    readonly step: 'no_key' | 'rotate' | 'confirm',
    override readonly cause: unknown,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Gives one site its own API key with no moment where keyfleet and the site disagree (DESIGN §2,
 * credentials): 1. rotate with the key that opens it now — the site accepts both; 2. the new key is
 * sealed in the vault and used from then on; 3. confirm with the new key — the site drops the old
 * one (and, with `retireShared`, the shared TEMPLATE_MASTER_API_KEY). A failure at 1 changes nothing;
 * after 2 both keys open the site until a later rotation completes. The key is 32 random bytes and
 * never leaves this function but to the site and the vault. Used by the dashboard and the CLI.
 */
export async function rotateSiteCredentials(
  client: SiteClient,
  fleet: FleetStore,
  site: FleetSite,
  masterKey: string | null,
  retireShared: boolean,
): Promise<RotationResult> {
  const current = (site.has_api_key ? await fleet.siteApiKey(site.id) : null) ?? masterKey;
  if (!current) throw new RotationError('no_key', null, "no key opens this site: set TEMPLATE_MASTER_API_KEY or the site's api_key first");
  const fresh = randomBytes(32).toString('base64url');
  try {
    await client.rotateCredentials(site.url, current, fresh);
  } catch (err) {
    throw new RotationError('rotate', err, `rotate: ${(err as Error).message}`);
  }
  const updated = (await fleet.updateSite(site.id, { apiKey: fresh })) ?? site;
  try {
    await client.confirmCredentials(site.url, fresh, { retire_shared_key: retireShared });
  } catch (err) {
    throw new RotationError('confirm', err, `confirm (the site accepts both keys until a rotation completes): ${(err as Error).message}`);
  }
  return { site: updated, fingerprint: fingerprint(fresh) };
}
