import type { SiteTask } from '../../engine/push-site.js';
import { SiteError } from '../../engine/site-error.js';
import type { SiteResult, StateStore } from '../../store/state-store.js';

/**
 * A run's pending sites that its plan left out because they now wait for an admin's approval (removed,
 * then registered again: planFromSnapshot never gives them a task). They are sent nothing and end
 * `skipped` with `site_pending`, so the run still ends and its report says why. Returns their URLs.
 */
export async function skipAwaitingApproval(
  state: StateStore,
  runId: string,
  pending: readonly SiteResult[],
  tasks: readonly SiteTask[],
): Promise<string[]> {
  const planned = new Set(tasks.map((t) => t.url));
  const skipped: string[] = [];
  for (const r of pending) {
    if (planned.has(r.url)) continue;
    const error = new SiteError({ code: 'site_pending', url: r.url }).toJSON();
    await state.recordSite(runId, { ...r, status: 'skipped', changes: [], error });
    skipped.push(r.url);
  }
  return skipped;
}
