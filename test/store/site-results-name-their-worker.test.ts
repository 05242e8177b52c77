import { hostname } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/engine/run-report.js';
import { workerName } from '../../src/store/run-records.js';
import type { SiteResult, StateStore } from '../../src/store/state-store.js';
import { ALL_STATE_BACKENDS, anyStateBackend } from './any-state-backend.js';

/**
 * Issue 14, point 2 (state migration 8): each site's result names the process that recorded it —
 * KEYFLEET_WORKER_NAME, else `<host>:<pid>` — through one write and a batch alike, and the report
 * carries it.
 */
describe.each(ALL_STATE_BACKENDS)('site results name their worker (%s)', (backend) => {
  const db = anyStateBackend(backend);
  let state: StateStore;
  const saved = process.env.KEYFLEET_WORKER_NAME;

  beforeAll(async () => {
    state = await db.open();
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.KEYFLEET_WORKER_NAME;
    else process.env.KEYFLEET_WORKER_NAME = saved;
  });
  afterAll(async () => {
    await db.cleanup();
  });

  const result = (url: string, extra: Partial<SiteResult> = {}): SiteResult => ({
    url,
    status: 'ok',
    verified: true,
    attempts: 1,
    duration_ms: 3,
    error: null,
    before: null,
    changes: ['stripe_secret_key'],
    ...extra,
  });

  it('records KEYFLEET_WORKER_NAME, else host:pid, or the name the writer gives', async () => {
    const urls = ['https://a.example', 'https://b.example', 'https://c.example', 'https://d.example'];
    const run = await state.createRun({
      command: 'push',
      dry_run: false,
      actor: 'test',
      sites_source: null,
      keys: {},
      options: {},
      key_version_id: null,
      sites: urls,
    });
    delete process.env.KEYFLEET_WORKER_NAME;
    expect(workerName()).toBe(`${hostname()}:${process.pid}`);
    await state.recordSite(run.id, result(urls[0] as string));
    process.env.KEYFLEET_WORKER_NAME = '  dashboard-eu-2  ';
    await state.recordSites(run.id, [
      result(urls[1] as string),
      result(urls[2] as string, { worker: 'other-box:42' }),
    ]);
    const finished = await state.finishRun(run.id, 'done');
    const results = await state.siteResults(run.id);
    expect(results.map((r) => r.worker ?? null)).toEqual([
      `${hostname()}:${process.pid}`,
      'dashboard-eu-2',
      'other-box:42',
      null, // never recorded: still pending
    ]);
    expect(buildReport(finished, results).sites.map((s) => s.worker)).toEqual([
      `${hostname()}:${process.pid}`,
      'dashboard-eu-2',
      'other-box:42',
      null,
    ]);
  });
});
