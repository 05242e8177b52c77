import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/run-cli.js';

/** The README's first command: a local fleet and dashboard, pushed and verified, nothing left behind. */
describe('keyfleet demo', () => {
  it('--exit: pushes through the dashboard, verifies from the CLI, exits 0', async () => {
    const r = await runCli(['demo', '--exit'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('PUSH RECAP');
    expect(r.stdout).toMatch(/ok=3 +failed=0/);
    expect(r.stdout).toContain('VERIFY RECAP');
    expect(r.stdout + r.stderr).not.toMatch(/sk_test_demo[A-Za-z0-9]{8,}/);
  });

  it('serves the dashboard and the sites until Ctrl-C, then removes its files', async () => {
    const demoDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('keyfleet-demo-')).sort();
    const before = demoDirs();
    const child = spawn(process.execPath, [BIN, 'demo'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        if (out.includes('Ctrl-C stops everything')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`demo exited (${code}) early:\n${out}`)));
    });
    const dashboard = /Dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
    const site = /^ {2}(http:\/\/127\.0\.0\.1:\d+)\//m.exec(out)?.[1];
    expect((await fetch(`${dashboard}/`)).status).toBe(200);
    const pk = (await (await fetch(`${site}/api/stripe-pk`)).json()) as { publishable_key: string };
    expect(pk.publishable_key).toMatch(/^pk_test_demo/);
    expect(demoDirs().length).toBe(before.length + 1);
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect(fetch(`${site}/api/stripe-pk`)).rejects.toThrow();
    expect(demoDirs()).toEqual(before);
  });
});
