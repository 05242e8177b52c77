import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskedKey } from '../../src/keys/masked-key.js';
import { openStateStore } from '../../src/store/open-state-store.js';
import type { RunRecord } from '../../src/store/state-store.js';
import { makeKey, makeWebhookSecret } from '../helpers/keys.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'keyfleet.js');
/** The CLI runs from dist/: `npm run build` first (npm test does). */
const BUILT = join(ROOT, 'dist', 'cli', 'commands', 'history.js');
const ODD_SOURCE = '/srv/fleet/odd, "quoted"\nname.txt';
/** A user name with a comma, quotes, a newline and a terminal escape sequence. */
const ODD_ACTOR = 'bob, "ops"\n\u001b[2J';

let dir: string;
let db: string;
const secrets = { pk: makeKey('pk', 'live'), sk: makeKey('sk', 'live'), whsec: makeWebhookSecret() };

function keyfleet(args: string[], dbPath = db) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KEYFLEET_DB: dbPath,
    HOME: dir,
    XDG_DATA_HOME: dir,
    NO_COLOR: '1',
  };
  delete env.KEYFLEET_VAULT_KEY;
  const r = spawnSync(process.execPath, [BIN, 'history', ...args], { env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Parsed by Python's csv module: an independent reader, not one written to agree with ours. */
function parseCsv(text: string): string[][] {
  const script = 'import csv,json,sys; print(json.dumps(list(csv.reader(sys.stdin))))';
  return JSON.parse(execFileSync('python3', ['-c', script], { input: text, encoding: 'utf8' })) as string[][];
}

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first.`);
  dir = mkdtempSync(join(tmpdir(), 'keyfleet-history-'));
  db = join(dir, 'state', 'keyfleet.db');
  const store = await openStateStore({ path: db, vaultKey: Buffer.alloc(32, 7).toString('base64'), env: {} });
  const sites = ['https://a.example.test', 'https://b.example.test', 'https://c.example.test'];
  const seed = async (
    extra: Partial<RunRecord>,
    statuses: Array<'ok' | 'failed' | 'skipped'>,
    end: RunRecord['state'],
  ) => {
    const run = await store.createRun({
      command: 'push',
      dry_run: false,
      actor: 'alice',
      sites_source: 'sites.txt',
      keys: {},
      options: {},
      key_version_id: null,
      sites,
      ...extra,
    });
    for (const [i, status] of statuses.entries()) {
      await store.recordSite(run.id, {
        url: sites[i]!,
        status,
        verified: status === 'ok',
        attempts: 1,
        duration_ms: 5,
        error: null,
        before: null,
      });
    }
    if (end !== 'running') await store.finishRun(run.id, end);
  };
  const keys = { stripe_publishable_key: maskedKey(secrets.pk), stripe_secret_key: maskedKey(secrets.sk) };
  await seed({ keys }, ['ok', 'ok', 'failed'], 'done');
  await seed(
    { command: 'verify', dry_run: true, actor: ODD_ACTOR, sites_source: ODD_SOURCE },
    ['ok', 'ok', 'ok'],
    'done',
  );
  await seed({ keys: { stripe_webhook_secret: maskedKey(secrets.whsec) } }, ['ok', 'skipped'], 'halted');
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keyfleet history', () => {
  it('--json prints one array of runs, newest first, masked', () => {
    const { code, stdout } = keyfleet(['--json']);
    expect(code).toBe(0);
    const runs = JSON.parse(stdout) as RunRecord[];
    expect(runs.map((r) => [r.command, r.state, r.summary.ok, r.summary.failed])).toEqual([
      ['push', 'halted', 1, 0],
      ['verify', 'done', 3, 0],
      ['push', 'done', 2, 1],
    ]);
    expect(runs[2]?.keys.stripe_secret_key?.last4).toBe(secrets.sk.slice(-4));
    for (const s of Object.values(secrets)) expect(stdout).not.toContain(s);
    expect(JSON.parse(keyfleet(['--json', '--limit', '1']).stdout)).toHaveLength(1);
  });

  it("--csv starts with the guide's columns and survives commas, quotes and newlines", () => {
    const { code, stdout } = keyfleet(['--csv']);
    expect(code).toBe(0);
    const [header, ...rows] = parseCsv(stdout);
    expect(header).toEqual([
      'date',
      'user',
      'sites_file',
      'result',
      'run_id',
      'command',
      'dry_run',
      'state',
      'total',
      'ok',
      'failed',
      'skipped',
      'unchanged',
      'keys',
      'duration_ms',
    ]);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r[3])).toEqual(['halted', 'success', 'failed']);
    const verify = rows[1]!;
    expect(verify[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect(verify.slice(1, 3)).toEqual([ODD_ACTOR, ODD_SOURCE]);
    expect(verify.slice(5, 13)).toEqual(['verify', 'true', 'done', '3', '3', '0', '0', '0']);
    expect(Number(verify[14])).toBeGreaterThanOrEqual(0);
    expect(rows[2]![13]).toBe(`pk_live_…${secrets.pk.slice(-4)} sk_live_…${secrets.sk.slice(-4)}`);
    expect(rows[0]![13]).toBe(`whsec_…${secrets.whsec.slice(-4)}`);
  });

  it('prints an aligned table by default, keys masked, control characters neutralised', () => {
    const { code, stdout } = keyfleet([]);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4); // the newline in the verify run's actor does not break its line
    expect(stdout).not.toContain('\u001b');
    expect(lines[0]).toMatch(/^RUN\s+STARTED \(UTC\)\s+ACTOR\s+COMMAND\s+DRY-RUN\s+STATE\s+OK\s+FAILED/);
    // Every column starts at the same offset on every line.
    const col = (line: string, word: string) => line.indexOf(word);
    expect(new Set(lines.slice(1).map((l, i) => col(l, ['halted', 'done', 'done'][i]!)))).toEqual(
      new Set([col(lines[0]!, 'STATE')]),
    );
    expect(lines[3]).toContain(`sk_live_…${secrets.sk.slice(-4)}`);
    expect(stdout).not.toContain(secrets.sk);
  });

  it('says so, exit 0, when nothing was recorded, without creating a database', () => {
    const empty = join(dir, 'none', 'keyfleet.db');
    const { code, stdout } = keyfleet([], empty);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^No runs recorded yet/);
    expect(existsSync(empty)).toBe(false);
    expect(JSON.parse(keyfleet(['--json'], empty).stdout)).toEqual([]);
    expect(parseCsv(keyfleet(['--csv'], empty).stdout)).toHaveLength(1);
  });

  it('rejects bad usage with exit 2', () => {
    expect(keyfleet(['--json', '--csv'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--json and --csv'),
    });
    expect(keyfleet(['--limit', 'ten'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--limit'),
    });
  });
});
