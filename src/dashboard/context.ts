import type { SiteClient } from '../engine/site-client.js';
import type { StateStore } from '../store/state-store.js';
import type { FailureLimiter } from '../template/auth.js';
import type { LoginGate } from './auth/login-gate.js';
import type { SessionStore } from './auth/sessions.js';
import type { DashboardConfig } from './config.js';
import type { AllowedHosts } from './fleet/registration-hosts.js';
import type { FleetVerifier } from './fleet/verifier.js';
import type { RunManager } from './runs/run-manager.js';
import type { SseStreams } from './runs/sse.js';

/** What every dashboard route shares; built once per app by buildDashboardApp. */
export interface DashboardContext {
  config: DashboardConfig;
  /** The environment the dashboard was started with (a YAML import's `api_key_env` is read here). */
  env: NodeJS.ProcessEnv;
  state: StateStore;
  sessions: SessionStore;
  /** Bad admin tokens (and requests without a valid session), per address. */
  authLimiter: FailureLimiter;
  /** Password checks: counted before the hash, one per address, a few at once (issue 12). */
  loginGate: LoginGate;
  /** Failed template-facing authentications (stripe-key, register), per address. */
  siteLimiter: FailureLimiter;
  /** Registrations with a valid token, per address and (key `*`) dashboard-wide. */
  registrationLimiter: { perAddress: FailureLimiter; overall: FailureLimiter };
  /** KEYFLEET_REGISTRATION_ALLOWED_HOSTS, parsed. */
  registrationHosts: AllowedHosts;
  runs: RunManager;
  /** The one client every run, sweep and rotation reaches sites through (one in-flight limit). */
  client: SiteClient;
  verifier: FleetVerifier;
  streams: SseStreams;
  /** SHA-256 of KEYFLEET_ADMIN_TOKEN (empty when unset), compared in constant time. */
  adminTokenHashes: Buffer[];
  registrationTokenHashes: Buffer[];
  /** SHA-256 of each TEMPLATE_MASTER_API_KEY value. */
  masterKeyHashes: Buffer[];
  /** The key that opens sites without their own (the first TEMPLATE_MASTER_API_KEY value). */
  masterKey: string | null;
}
