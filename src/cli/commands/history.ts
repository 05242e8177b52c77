import { existsSync } from 'node:fs';
import { EXIT } from '../../protocol/error-catalog.js';
import { openStateStore, postgresStateUrl, stateDbPath } from '../../store/open-state-store.js';
import type { RunRecord } from '../../store/state-store.js';
import { usageError } from '../../protocol/cli-error.js';
import { runsCsv, runsTable } from '../history-format.js';

export interface HistoryOptions {
  json?: boolean;
  csv?: boolean;
  /** As typed on the command line (commander gives strings); default 50. */
  limit?: string;
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw usageError(
      `--limit must be a whole number of runs, at least 1 (got "${raw}").`,
      'e.g. keyfleet history --limit 20',
    );
  }
  return n;
}

/** Runs newest first; a run whose process died is shown as `interrupted`, not as forever `running`. */
async function loadRuns(limit: number): Promise<RunRecord[]> {
  // A first `history` before any run must not create the database (nor its directory).
  // (A Postgres state database is a server, not a file: it is simply opened.)
  if (postgresStateUrl() === undefined && !existsSync(stateDbPath())) return [];
  const store = await openStateStore({ log: (m) => process.stderr.write(`keyfleet: ${m}\n`) });
  try {
    await store.markInterrupted();
    return await store.listRuns({ limit });
  } finally {
    await store.close();
  }
}

/**
 * `keyfleet history [--json | --csv] [--limit N]`: every recorded run, newest first, as an aligned
 * table, one JSON array, or CSV whose first columns are the guide's propagation_history.csv.
 *
 * @example keyfleet history --csv > propagation_history.csv
 */
export async function history(opts: HistoryOptions): Promise<number> {
  if (opts.json && opts.csv) throw usageError('--json and --csv cannot be combined: pick one output format.');
  const runs = await loadRuns(parseLimit(opts.limit));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(runs)}\n`);
  } else if (opts.csv) {
    process.stdout.write(runsCsv(runs));
  } else if (runs.length === 0) {
    process.stdout.write(
      'No runs recorded yet: `keyfleet push`, `verify`, `backup` and `rollback` record theirs here.\n',
    );
  } else {
    process.stdout.write(runsTable(runs));
  }
  return EXIT.ok;
}
