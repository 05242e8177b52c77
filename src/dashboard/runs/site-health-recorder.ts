import type { SiteOutcome } from '../../engine/push-site.js';
import type { StateStore } from '../../store/state-store.js';
import { heldFromOutcome } from '../fleet/held-keys.js';
import { healthFromOutcome } from '../fleet/site-health.js';
import type { FleetRunPlan } from './run-plan.js';

/**
 * Records what each site's outcome says about its live status on the fleet's row, one write after
 * another so the run never waits for them; a failed write is reported to `onError`, never thrown.
 * Used by the process that works the site: the run manager for its own sites, a shared run's
 * worker for the sites of its jobs.
 *
 * @example const health = siteHealthRecorder(state, plan, dryRun, log); health.record(outcome); await health.settled();
 */
export function siteHealthRecorder(
  state: StateStore,
  plan: Pick<FleetRunPlan, 'siteIds' | 'versionOf' | 'versions'>,
  dryRun: boolean,
  onError: (err: Error) => void,
) {
  let chain = Promise.resolve();
  return {
    /** Queues the site's record; the promise resolves once it is written (or reported failed), never rejects. */
    record(o: SiteOutcome): Promise<void> {
      const id = plan.siteIds.get(o.url);
      if (id === undefined) return chain;
      chain = chain
        .then(async () => {
          const versionId = plan.versionOf(o.url);
          const version = { id: versionId, keys: await plan.versions.masked(versionId) };
          const h = healthFromOutcome(o, version, dryRun);
          if (h) await state.fleet.recordHealth(id, h);
          const held = heldFromOutcome(o, version, dryRun);
          if (held) await state.fleet.recordHeldKeys(id, held, h?.checked_at ?? new Date().toISOString());
        })
        .catch(onError);
      return chain;
    },
    /** Resolves once every health record asked for so far is written (or reported failed). */
    settled(): Promise<void> {
      return chain;
    },
  };
}
