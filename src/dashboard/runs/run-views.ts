import { buildReport } from '../../engine/run-report.js';
import { SEED_RESTART_HINT } from '../../engine/seed-protocol.js';
import type { FleetSite, SiteStatusFilter } from '../../store/fleet-store.js';
import type { RunRecord, StateStore } from '../../store/state-store.js';
import type { DashboardContext } from '../context.js';
import { DashboardError } from '../errors.js';
import { siteView } from '../fleet/site-views.js';
import { failureGroups, runOutcome } from './run-failures.js';
import type { EndEventData, RunEvent } from './live-run.js';

/** A run in the list: the record without its per-site detail, plus where it came from. */
export function runSummaryView(run: RunRecord, active: boolean) {
  return {
    id: run.id,
    command: run.command,
    dry_run: run.dry_run,
    state: run.state,
    started_at: run.started_at,
    finished_at: run.finished_at,
    actor: run.actor,
    key_version_id: run.key_version_id,
    keys: run.keys,
    summary: run.summary,
    outcome: runOutcome(run),
    trigger: (run.options.trigger as string | undefined) ?? 'cli',
    of: (run.options.of as string | null | undefined) ?? null,
    active,
  };
}

/**
 * GET /api/admin/runs/:id: DESIGN §2's report (with each site's `changes` from the store) plus the
 * live phase, why a halted run stopped, and what can be done with it next.
 */
export async function runDetailView(ctx: DashboardContext, run: RunRecord) {
  const live = ctx.runs.liveRun(run.id);
  const active = ctx.runs.isActive(run.id);
  // Live also where another dashboard coordinates it (Postgres): the web view then follows its events.
  const followable = ctx.runs.followsLive(run);
  const results = await ctx.state.siteResults(run.id);
  const report = buildReport(run, results);
  return {
    ...report,
    // What each site held before the run (public pk and price, fingerprints of secrets): the preview's "from".
    sites: report.sites.map((s, i) => ({ ...s, before: results[i]?.before ?? null })),
    phase: live?.phase ?? null,
    reason: live?.reason ?? null,
    active: followable,
    resumable:
      !active && run.command === 'push' && (run.state === 'interrupted' || run.state === 'cancelled'),
    confirmable: run.dry_run && run.state === 'done',
    cancellable: active,
    outcome: runOutcome(run),
    failure_groups: failureGroups(results),
    // What the confirm dialog restates: the selection the run was started with, its budget.
    selection: {
      tags: (run.options.tags as string[] | undefined) ?? [],
      sites: ((run.options.sites as string[] | undefined) ?? []).length,
      drifted_only: run.options.drifted_only === true,
      problem: (run.options.problem as string | undefined) ?? null,
      q: (run.options.q as string | undefined) ?? null,
    },
    max_failures: (run.options.max_failures as string | undefined) ?? null,
    // Issue 9: said once per run where a seed site was given a secret (SEED_TEMPLATE.md point 5).
    notes:
      !run.dry_run &&
      results.some(
        (r) => r.protocol === 'seed' && r.status === 'ok' && r.changes?.includes('stripe_secret_key'),
      )
        ? [SEED_RESTART_HINT]
        : [],
    trigger: (run.options.trigger as string | undefined) ?? 'cli',
    of: (run.options.of as string | null | undefined) ?? null,
  };
}

/**
 * The events of a run this process does not remember (it ran before a restart, or in the CLI):
 * one `site` event per site that has a result, then `end` with the report as stored.
 */
export async function storedEvents(state: StateStore, run: RunRecord): Promise<RunEvent[]> {
  const results = await state.siteResults(run.id);
  const events: RunEvent[] = [];
  for (const r of results) {
    if (r.status === 'pending') continue;
    const { url, status, verified, attempts, duration_ms, error } = r;
    events.push({
      id: events.length + 1,
      type: 'site',
      data: {
        url,
        status,
        verified,
        attempts,
        duration_ms,
        error,
        changes: r.changes ?? [],
        worker: r.worker ?? null,
        ...(r.protocol ? { protocol: r.protocol } : {}),
      },
    });
  }
  const end: EndEventData = { ...buildReport(run, results), reason: null };
  events.push({ id: events.length + 1, type: 'end', data: end });
  return events;
}

/** The sites a new run covers: named ones and tagged ones (union), all when neither is given. */
export async function selectSites(
  ctx: DashboardContext,
  sel: {
    sites?: string[];
    tags?: string[];
    drifted_only?: boolean;
    problem?: SiteStatusFilter;
    q?: string;
  },
): Promise<FleetSite[]> {
  const fleet = ctx.state.fleet;
  let chosen: FleetSite[];
  if (!sel.sites?.length && !sel.tags?.length) chosen = await fleet.listSites();
  else {
    const byId = new Map<string, FleetSite>();
    const unknown: string[] = [];
    for (const ref of sel.sites ?? []) {
      const site = await fleet.getSite(ref);
      if (site) byId.set(site.id, site);
      else unknown.push(ref);
    }
    if (unknown.length > 0)
      throw new DashboardError(
        'site_not_found',
        `No site ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}.`,
      );
    if (sel.tags?.length) for (const s of await fleet.listSites({ tags: sel.tags })) byId.set(s.id, s);
    const order = new Map((await fleet.listSites()).map((s, i) => [s.id, i]));
    chosen = [...byId.values()].sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  }
  // Sites waiting for approval (issue 12) are never part of a run; naming one is an error.
  const pending = chosen.filter((s) => s.approval === 'pending');
  if (pending.length > 0 && sel.sites?.length) {
    const named = pending.filter((s) =>
      sel.sites?.some((ref) => ref === s.id || ref === s.name || ref === s.url),
    );
    if (named.length > 0)
      throw new DashboardError(
        'site_pending',
        `${named
          .map((s) => s.name)
          .slice(0, 5)
          .join(', ')} waits for approval: approve it first (POST /api/admin/sites/:id/approve).`,
      );
  }
  chosen = chosen.filter((s) => s.approval !== 'pending');
  if (sel.problem || sel.q?.trim()) {
    const match = new Set(
      (
        await fleet.listSites({
          ...(sel.problem ? { status: sel.problem } : {}),
          ...(sel.q?.trim() ? { q: sel.q.trim() } : {}),
        })
      ).map((s) => s.id),
    );
    chosen = chosen.filter((s) => match.has(s.id));
  }
  if (sel.drifted_only) {
    const desired = await fleet.desired();
    chosen = chosen.filter((s) => siteView(s, desired).drift !== 'in_sync');
  }
  if (chosen.length === 0) throw new DashboardError('no_sites_selected');
  return chosen;
}
