import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { SiteStatus } from '../../src/store/state-store.js';
import {
  STATE_BACKENDS,
  newRun,
  siteResult,
  siteUrl,
  stateFixture,
  type StateFixture,
} from './state-store-fixture.js';

const SITES = 50_000;
/** A bound generous enough for a loaded CI machine: it catches an O(n²) or fsync-per-row regression, not noise. */
const BOUND_MS = 20_000;

describe.each(STATE_BACKENDS)('state store at 50,000 sites on %s', (backend) => {
  let fx: StateFixture;
  afterEach(() => fx.cleanup());

  it('creates the run and records every site (each its own write) fast, counting each once', async () => {
    fx = stateFixture(backend);
    const store = await fx.open();
    const urls = Array.from({ length: SITES }, (_, i) => siteUrl(i));
    const statuses: SiteStatus[] = ['ok', 'ok', 'ok', 'failed', 'skipped', 'unchanged'];

    const t0 = performance.now();
    const run = await store.createRun(newRun(urls));
    const t1 = performance.now();
    for (let i = 0; i < SITES; i++) {
      await store.recordSite(run.id, siteResult(urls[i]!, statuses[i % statuses.length]!));
    }
    const t2 = performance.now();
    const done = await store.finishRun(run.id, 'done');
    const t3 = performance.now();

    const perRow = ((t2 - t1) * 1000) / SITES;
    process.stdout.write(
      `[state-store ${backend}] createRun(${SITES}): ${(t1 - t0).toFixed(0)} ms · ` +
        `recordSite: ${(t2 - t1).toFixed(0)} ms (${perRow.toFixed(1)} µs/row) · finishRun: ${(t3 - t2).toFixed(0)} ms\n`,
    );
    const expected = { total: SITES, ok: 0, failed: 0, skipped: 0, unchanged: 0 };
    for (let i = 0; i < SITES; i++)
      expected[statuses[i % statuses.length] as Exclude<SiteStatus, 'pending'>] += 1;
    expect(done.summary).toEqual(expected);
    expect(t3 - t0).toBeLessThan(BOUND_MS);
  });
});
