import type { FleetOptions } from '../fleet-options.js';

/** What `keyfleet push` is given on its command line: push.ts runs with it, push-plan.ts plans the run from it. */
export interface PushOptions extends FleetOptions {
  only?: string;
  dryRun?: boolean;
  yes?: boolean;
  force?: boolean;
  canary?: string;
  maxFailures?: string;
  preflightAll?: boolean;
  checkStripe?: boolean;
  resume?: string;
  retryFailed?: string;
  envFile?: string;
  secretKeyFile?: string;
  secretKey?: string;
  publishableKey?: string;
  readBack?: boolean;
}
