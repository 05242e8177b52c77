import type { SiteJob } from '../../src/dashboard/runs/run-queue.js';
import { SiteJobWorker, type SiteJobWorkerOptions } from '../../src/dashboard/runs/site-jobs.js';
import type { SiteClient } from '../../src/engine/site-client.js';
import type { RunRecord, StateStore } from '../../src/store/state-store.js';
import { startFakeSite, type FakeSiteServer } from '../fault-fleet/index.js';
import { MASTER_KEY, makeKey } from '../helpers/keys.js';

/**
 * What a test of one shared run's jobs needs without a queue: fake sites in the fleet, a push run
 * over them as a coordinator creates it, a SiteJobWorker, and the jobs the queue would hand it.
 */

/** `n` fake template sites (opened by MASTER_KEY, holding no key) pushed onto `sites` as each starts (so the caller closes them), each added to the fleet. */
export async function addFakeSites(
  state: StateStore,
  sites: FakeSiteServer[],
  n: number,
  name: string,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    const site = await startFakeSite({ apiKey: MASTER_KEY, publishableKey: null });
    sites.push(site);
    await state.fleet.addSite({
      url: site.url,
      name: `${name}-${i}`,
      tags: [],
      apiKey: null,
      source: 'admin',
      addedBy: 'test',
    });
  }
}

/** A push run over `urls` to a new key version (the fleet default), with no failure budget. */
export async function createPushRun(
  state: StateStore,
  urls: string[],
  secret = makeKey('sk'),
): Promise<RunRecord> {
  const saved = await state.saveKeyVersion(
    { stripe_publishable_key: makeKey('pk'), stripe_secret_key: secret },
    'test',
  );
  return state.createRun({
    command: 'push',
    dry_run: false,
    actor: 'test',
    sites_source: null,
    keys: {},
    options: { desired: { default: saved.id, others: {} }, max_failures: '100%' },
    key_version_id: saved.id,
    sites: urls,
  });
}

/** A worker as a dashboard runs it, with short claim retries and refreshes. */
export function siteJobWorker(
  state: StateStore,
  client: SiteClient,
  more: Partial<Pick<SiteJobWorkerOptions, 'log' | 'onSettled'>> = {},
): SiteJobWorker {
  return new SiteJobWorker({
    state,
    client,
    masterKey: MASTER_KEY,
    concurrency: 4,
    log: more.log ?? { warn: () => undefined },
    onSettled: more.onSettled ?? (() => undefined),
    claimStaleMs: 60_000,
    claimRetryMs: 50,
    refreshMs: 100,
  });
}

/** The job the queue would hand out for `urls` of `run`. */
export function siteJob(run: RunRecord, id: string, urls: string[]): SiteJob {
  return {
    id,
    data: { run_id: run.id, coordination: run.coordination as string, urls },
    signal: new AbortController().signal,
  };
}
