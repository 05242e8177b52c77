import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CAPABILITIES } from '../../src/protocol/bodies.js';
import { ERROR_CATALOG, type ErrorCode } from '../../src/protocol/error-catalog.js';
import { fingerprint, last4 } from '../../src/protocol/fingerprint.js';
import { KEY_PATTERNS } from '../../src/protocol/key-formats.js';
import { API_KEY_HEADER, ROUTES } from '../../src/protocol/routes.js';
import { SETTINGS, isSettingName } from '../../src/protocol/settings.js';
import { send, type FaultHandler } from './server.js';

/**
 * A small, well-behaved stand-in for a template site, enough of DESIGN.md §1 for the engine's tests
 * (the real site lives in src/template and has its own tests). Faults that "recover" fall back to it;
 * with `stale: true` it answers 200 to every PUT but keeps serving what it had — the verify_mismatch
 * site the push tests use.
 */
export interface FakeSiteState {
  /** Keys accepted in X-API-Key. */
  apiKeys: Set<string>;
  /** Rotated keys waiting for confirmation. */
  pending: Set<string>;
  /** Stored settings by name. */
  settings: Map<string, string>;
}

export interface FakeSiteOptions {
  apiKey?: string;
  publishableKey?: string | null;
  /** Accept writes, change nothing. */
  stale?: boolean;
  /** Issue 10: list `atomic_write` and serve `PUT /api/export/settings` (all values or none). */
  atomic?: boolean;
}

/** A unique, well-formed fake key built at run time (no key-shaped literal in the repository). */
export function fakeKey(prefix: 'pk_test' | 'sk_test' | 'sk_live' | 'whsec' | 'api', length = 40): string {
  const tail = randomBytes(length).toString('hex').slice(0, length);
  return prefix === 'api' ? `api-${tail}` : `${prefix}_${tail}`;
}

export const FAKE_SITE_VERSION = 'fault-fleet';

export function errorBody(code: ErrorCode): string {
  return JSON.stringify({ success: false, error: code, message: ERROR_CATALOG[code].message });
}

function fail(res: ServerResponse, code: ErrorCode, headers: Record<string, string> = {}): void {
  send(res, ERROR_CATALOG[code].status ?? 500, errorBody(code), headers);
}

export function createFakeSite(options: FakeSiteOptions = {}): {
  state: FakeSiteState;
  handler: FaultHandler;
} {
  const state: FakeSiteState = {
    apiKeys: new Set(options.apiKey === undefined ? [] : [options.apiKey]),
    pending: new Set(),
    settings: new Map(options.publishableKey ? [['stripe_publishable_key', options.publishableKey]] : []),
  };
  const keyOf = (req: IncomingMessage) => {
    const v = req.headers[API_KEY_HEADER];
    return typeof v === 'string' ? v : '';
  };

  /** The authenticated key view (and the atomic write's answer). */
  function keyView() {
    const sk = state.settings.get('stripe_secret_key');
    const pk = state.settings.get('stripe_publishable_key');
    const pub = { success: true, secret_key_configured: !!sk, publishable_key_configured: !!pk, environment: sk || pk ? 'test' : null };
    // Like the template: public settings carry their value, secrets only a fingerprint.
    const info = (n: string, v: string | undefined) =>
      v
        ? {
            ...(SETTINGS[n as keyof typeof SETTINGS].secret ? {} : { value: v }),
            fingerprint: fingerprint(v),
            last4: last4(v),
            mode: 'test',
            source: 'settings',
            shadows_env: false,
            updated_at: null,
          }
        : null;
    const keys = Object.fromEntries(Object.keys(SETTINGS).map((n) => [n, info(n, state.settings.get(n))]));
    return { ...pub, authenticated: true, ...(options.atomic ? { capabilities: [CAPABILITIES.atomicWrite] } : {}), keys };
  }

  const handler: FaultHandler = (req, res, { body }) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const key = keyOf(req);
    const authed = state.apiKeys.has(key);
    const pk = state.settings.get('stripe_publishable_key');

    if (
      method === 'GET' &&
      (path === ROUTES.stripePk || path === '/api/export/settings/stripe_publishable_key')
    ) {
      return pk
        ? send(res, 200, JSON.stringify({ success: true, publishable_key: pk }))
        : fail(res, 'no_publishable_key');
    }
    if (method === 'GET' && path === ROUTES.health) {
      return send(res, 200, JSON.stringify({ status: 'ok', version: FAKE_SITE_VERSION, database: 'ok' }));
    }
    if (method === 'GET' && path === ROUTES.healthStripe) {
      const sk = state.settings.get('stripe_secret_key');
      const pub = {
        success: true,
        secret_key_configured: !!sk,
        publishable_key_configured: !!pk,
        environment: sk || pk ? 'test' : null,
      };
      // Like the template: no key → the public view; a wrong key → 401.
      if (!authed) return key ? fail(res, 'invalid_api_key') : send(res, 200, JSON.stringify(pub));
      return send(res, 200, JSON.stringify(keyView()));
    }
    if (method === 'PUT' && path === ROUTES.settings && options.atomic) {
      if (!authed) return fail(res, 'invalid_api_key');
      const values = (JSON.parse(body || '{}') as { values?: Record<string, unknown> }).values ?? {};
      // Every value validated first: one bad value, nothing written.
      for (const [name, value] of Object.entries(values)) {
        if (!isSettingName(name)) return send(res, 404, JSON.stringify({ success: false, error: 'unknown_setting', message: ERROR_CATALOG.unknown_setting.message, setting: name }));
        const spec = SETTINGS[name];
        if (typeof value !== 'string' || !KEY_PATTERNS[spec.kind].test(value)) {
          return send(res, 400, JSON.stringify({ success: false, error: spec.formatError, message: ERROR_CATALOG[spec.formatError as ErrorCode].message, setting: name }));
        }
      }
      if (!options.stale) for (const [name, value] of Object.entries(values)) state.settings.set(name, value as string);
      return send(res, 200, JSON.stringify(keyView()));
    }
    const settingName = path.startsWith('/api/export/settings/') ? decodeURIComponent(path.slice(21)) : null;
    if (method === 'PUT' && settingName !== null) {
      if (!authed) return fail(res, 'invalid_api_key');
      if (!isSettingName(settingName)) return fail(res, 'unknown_setting');
      const spec = SETTINGS[settingName];
      const value = (JSON.parse(body || '{}') as { value?: unknown }).value;
      if (typeof value !== 'string' || !KEY_PATTERNS[spec.kind].test(value))
        return fail(res, spec.formatError as ErrorCode);
      if (!options.stale) state.settings.set(settingName, value);
      return send(res, 200, JSON.stringify({ success: true, message: spec.savedMessage }));
    }
    if (method === 'POST' && path === ROUTES.testStripe) {
      if (!authed) return fail(res, 'invalid_api_key');
      return send(res, 200, JSON.stringify({ success: true, livemode: false }));
    }
    if (method === 'POST' && path === ROUTES.rotateCredentials) {
      if (!authed) return fail(res, 'invalid_api_key');
      const newKey = (JSON.parse(body || '{}') as { new_key?: unknown }).new_key;
      if (typeof newKey !== 'string' || newKey.length < 32) return fail(res, 'weak_key');
      state.pending.add(newKey);
      state.apiKeys.add(newKey);
      return send(res, 200, JSON.stringify({ success: true, message: 'rotation_pending' }));
    }
    if (method === 'POST' && path === ROUTES.confirmCredentials) {
      if (!state.pending.has(key)) return authed ? fail(res, 'no_pending_key') : fail(res, 'invalid_api_key');
      state.apiKeys = new Set([key]);
      state.pending.clear();
      return send(res, 200, JSON.stringify({ success: true, message: 'rotation_confirmed' }));
    }
    return fail(res, 'not_found');
  };
  return { state, handler };
}
