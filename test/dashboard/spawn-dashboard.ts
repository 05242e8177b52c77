import { spawn } from 'node:child_process';
import { BIN } from '../helpers/run-cli.js';
import { ADMIN_TOKEN } from './dashboard-fixture.js';

/**
 * `keyfleet dashboard --port 0` as a real child process (the built CLI: `npm run build` first). Resolves
 * once it logs its address; `api()` calls it with the admin token; `events()` follows a run's SSE
 * stream, calling `onEvent` per event, until `end` (or the process dies).
 */
export async function spawnDashboard(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [BIN, 'dashboard', '--port', '0', '--host', '127.0.0.1', ...args], {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', KEYFLEET_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m?.[1]) resolve(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(({ code }) =>
      reject(new Error(`keyfleet dashboard exited (${code}) before listening:\n${output}`)),
    );
  });

  async function api(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown> & { [k: string]: unknown },
    };
  }

  /** Follows the run's events; resolves with them when `end` comes or the stream breaks. */
  async function events(runId: string, onEvent: (event: string, data: unknown) => void = () => undefined) {
    const res = await fetch(`${url}/api/admin/runs/${runId}/events`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const seen: Array<{ event: string; data: unknown }> = [];
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.+)$/m.exec(frame)?.[1];
          const data = /^data: (.+)$/m.exec(frame)?.[1];
          if (!event || data === undefined) continue;
          seen.push({ event, data: JSON.parse(data) });
          onEvent(event, JSON.parse(data));
          if (event === 'end') return seen;
        }
      }
    } catch {
      // The process was killed mid-stream.
    }
    return seen;
  }

  return {
    url,
    child,
    exited,
    output: () => output,
    api,
    events,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
