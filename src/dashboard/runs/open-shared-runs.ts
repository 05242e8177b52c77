import type { SiteClient } from '../../engine/site-client.js';
import { postgresStateUrl } from '../../store/open-state-store.js';
import { workerName } from '../../store/run-records.js';
import type { StateStore } from '../../store/state-store.js';
import type { SharedRunsConfig } from '../config.js';
import { RunQueue } from './run-queue.js';
import { SharedRuns } from './shared-runs.js';
import { SiteJobWorker } from './site-jobs.js';

export interface OpenSharedRunsOptions {
  /** The dashboard's state environment (KEYFLEET_DB, KEYFLEET_DB_SCHEMA, KEYFLEET_QUEUE_SCHEMA). */
  env: NodeJS.ProcessEnv;
  state: StateStore;
  client: SiteClient;
  masterKey: string | null;
  concurrency: number;
  config: SharedRunsConfig;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/**
 * pg-boss's schema for a state schema: KEYFLEET_QUEUE_SCHEMA, else `<state schema>_queue`
 * (`keyfleet_queue` next to `public`), so that dashboards sharing a state database share its queue
 * and two deployments in two schemas of one database never take each other's jobs.
 */
export function queueSchema(env: NodeJS.ProcessEnv): string {
  const state = env.KEYFLEET_DB_SCHEMA?.trim() || 'public';
  return env.KEYFLEET_QUEUE_SCHEMA?.trim() || (state === 'public' ? 'keyfleet_queue' : `${state}_queue`);
}

/**
 * Shared runs for a dashboard whose state is on Postgres (started: listening and working jobs);
 * undefined on SQLite, where a run is worked by the one process that started it, as before.
 */
export async function openSharedRuns(o: OpenSharedRunsOptions): Promise<SharedRuns | undefined> {
  const connectionString = o.state.backend === 'postgres' ? postgresStateUrl({}, o.env) : undefined;
  if (connectionString === undefined) return undefined;
  const queue = new RunQueue({
    connectionString,
    schema: queueSchema(o.env),
    expireInSeconds: o.config.jobExpireS,
    workers: o.config.workerConcurrency,
    log: o.log,
  });
  const worker = new SiteJobWorker({
    state: o.state,
    client: o.client,
    masterKey: o.masterKey,
    concurrency: o.concurrency,
    log: o.log,
    onSettled: (runId, url) => queue.siteSettled(runId, url),
    // A site's claim outlives its job's expiry only if its worker died: then another job takes it.
    claimStaleMs: o.config.jobExpireS * 1000,
  });
  const shared = new SharedRuns({
    state: o.state,
    queue,
    worker,
    connectionString,
    jobSites: o.config.jobSites,
    claimStaleMs: o.config.jobExpireS * 1000,
    pollMs: o.config.pollMs,
    log: o.log,
  });
  try {
    await shared.start();
    // The name this dashboard's per-site results carry (migration 8), so its logs and results match.
    o.log.info({ worker: workerName(o.env) }, 'working the jobs of shared runs');
  } catch (err) {
    await shared.stop().catch(() => undefined);
    throw err;
  }
  return shared;
}
