import type { SettingName } from './settings.js';

/**
 * Every route of the template site's wire contract (DESIGN.md §1). The server registers these and the
 * CLI calls them; neither spells a path by hand.
 */
export const ROUTES = {
  stripePk: '/api/stripe-pk',
  settingPattern: '/api/export/settings/:name',
  /** PUT: every value of a key pair in one transaction (atomic write); the answer is the key view as committed. */
  settings: '/api/export/settings',
  health: '/api/health',
  /** Seed sites only (SEED_TEMPLATE.md): the authenticated stats, the one safe way to prove a key there. */
  exportStats: '/api/export/stats',
  healthStripe: '/api/health/stripe',
  testStripe: '/api/test-stripe',
  launch: '/saas_launch_site',
  rotateCredentials: '/api/export/credentials/rotate',
  confirmCredentials: '/api/export/credentials/confirm',
  metrics: '/metrics',
  openapi: '/openapi.json',
  home: '/',
} as const;

export function settingPath(name: SettingName | string): string {
  return `/api/export/settings/${encodeURIComponent(name)}`;
}

/** Header carrying the dashboard's (or the site's own) API key. */
export const API_KEY_HEADER = 'x-api-key';
