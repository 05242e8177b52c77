import { buildReport } from '../engine/run-report.js';
import { EXIT } from '../protocol/error-catalog.js';
import type { RunState, StateStore } from '../store/state-store.js';
import type { Reporter } from './output/reporter.js';

/**
 * Ends a run the same way for every fleet command: final state recorded, the report (JSON or recap)
 * printed, and the exit code of DESIGN §2 — 130 cancelled, 3 halted, 1 any site failed, else 0.
 */
export async function finishRun(
  state: StateStore,
  reporter: Reporter,
  runId: string,
  end: { state: Exclude<RunState, 'running'>; reason?: string | null; lines?: string[] },
): Promise<number> {
  const finished = await state.finishRun(runId, end.state);
  reporter.finish(buildReport(finished, await state.siteResults(runId, { before: false })), { reason: end.reason ?? null, lines: end.lines });
  if (end.state === 'cancelled') return EXIT.cancelled;
  if (end.state === 'halted') return EXIT.halted;
  return finished.summary.failed > 0 ? EXIT.someFailed : EXIT.ok;
}
