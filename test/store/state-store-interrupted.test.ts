import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  STATE_BACKENDS,
  newRun,
  siteResult,
  siteUrl,
  stateFixture,
  type StateFixture,
} from './state-store-fixture.js';

/** The child runs the compiled store (plain node cannot load .ts): `npm run build` first. */
const STORE_JS = fileURLToPath(new URL('../../dist/store/open-state-store.js', import.meta.url));

/** A separate keyfleet process: creates a run, records one site, prints the run id, then waits. */
const CHILD = `
const { openStateStore } = await import(process.env.STORE_JS);
const store = await openStateStore({ path: process.env.DB, vaultKey: process.env.VAULT_KEY });
const sites = ['https://a.example.test', 'https://b.example.test', 'https://c.example.test'];
const run = await store.createRun({ command: 'push', dry_run: false, actor: 'child', sites_source: null,
  keys: {}, options: {}, key_version_id: null, sites });
await store.recordSite(run.id, { url: sites[0], status: 'ok', verified: true, attempts: 1, duration_ms: 3,
  error: null, before: null });
process.stdout.write(run.id + '\\n');
setInterval(() => {}, 60_000);
`;

async function startOwner(fx: StateFixture): Promise<{ child: ChildProcess; runId: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, STORE_JS, DB: fx.path, VAULT_KEY: fx.vaultKey },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  child.stdout?.setEncoding('utf8');
  // Resolves on the child's own signal that its run is written: no sleeping, no polling.
  const runId = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before creating its run`)));
  });
  return { child, runId };
}

const children: ChildProcess[] = [];

describe.each(STATE_BACKENDS)('markInterrupted on %s', (backend) => {
  let fx: StateFixture;
  beforeAll(() => {
    if (!existsSync(STORE_JS)) throw new Error(`${STORE_JS} is missing: run npm run build first.`);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await fx.cleanup();
  });

  it('marks the run of a killed process interrupted, keeping what it wrote, and leaves live owners alone', async () => {
    fx = stateFixture(backend);
    const killed = await startOwner(fx);
    const alive = await startOwner(fx);
    killed.child.kill('SIGKILL');
    await once(killed.child, 'exit'); // reaped: its pid no longer answers signal 0

    const store = await fx.open();
    const ours = await store.createRun(newRun([siteUrl(1)]));
    const elsewhere = await store.createRun(newRun([siteUrl(2)]));
    fx.raw(`UPDATE runs SET owner_host = ?, owner_pid = 1 WHERE id = ?`, [`not-${hostname()}`, elsewhere.id]);

    expect(await store.markInterrupted()).toEqual([killed.runId]);
    const run = await store.getRun(killed.runId);
    expect(run?.state).toBe('interrupted');
    // Nothing written before the kill is lost; the end time is its last write.
    expect(run?.summary).toEqual({ total: 3, ok: 1, failed: 0, skipped: 0, unchanged: 0 });
    const [first] = await store.siteResults(killed.runId, { status: ['ok'] });
    expect(first?.url).toBe('https://a.example.test');
    expect(run?.finished_at).not.toBeNull();

    for (const id of [alive.runId, ours.id, elsewhere.id])
      expect((await store.getRun(id))?.state).toBe('running');
    // Idempotent: nothing left to mark.
    expect(await store.markInterrupted()).toEqual([]);

    // The reopened run belongs to this process now, so it is no longer anyone's to mark.
    await store.reopenRun(killed.runId);
    await store.recordSite(killed.runId, siteResult('https://b.example.test', 'ok'));
    expect(await store.markInterrupted()).toEqual([]);
    expect((await store.finishRun(killed.runId, 'done')).summary.ok).toBe(2);
  });
});
