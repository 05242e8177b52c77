import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/keyfleet.js', import.meta.url).pathname;

/**
 * Runs `keyfleet template --port 0` as a real child process (the built CLI), waits for its
 * "listening" log line and returns its URL plus everything it printed.
 */
export async function spawnTemplateSite(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'keyfleet-cli-site-'));
  const child: ChildProcess = spawn(process.execPath, [BIN, 'template', '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'site.db')}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m?.[1]) resolve(m[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`keyfleet template exited (${code}) before listening:\n${output}`)));
  });
  return {
    url,
    output: () => output,
    /** SIGTERM, then the exit code. */
    async stop(): Promise<number | null> {
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
