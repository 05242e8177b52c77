import { CAPABILITIES, type Capability, type HealthStripeBody } from '../protocol/bodies.js';
import type { SettingsSnapshot } from './settings-snapshot.js';

/** What this site supports beyond the per-setting PUTs, listed in the authenticated key view. */
export const SITE_CAPABILITIES: readonly Capability[] = [CAPABILITIES.atomicWrite];

/** GET /api/health/stripe without a key: configured or not, and the mode. */
export function publicKeyView(s: SettingsSnapshot): HealthStripeBody {
  return {
    success: true,
    secret_key_configured: s.get('stripe_secret_key') !== null,
    publishable_key_configured: s.get('stripe_publishable_key') !== null,
    environment: s.environment(),
  };
}

/**
 * The authenticated key view (GET /api/health/stripe with X-API-Key, and the answer of the atomic
 * write): one snapshot, so the pair it shows is a pair the site held at one moment.
 */
export function authenticatedKeyView(s: SettingsSnapshot): HealthStripeBody {
  return { ...publicKeyView(s), authenticated: true, capabilities: [...SITE_CAPABILITIES], keys: s.keyInfo() };
}
