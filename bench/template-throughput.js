// GET /api/stripe-pk requests/s: the template site against a bare node:http server returning a
// constant body, same machine, same run. Each server runs in its own process pinned to one core
// (taskset, when available); autocannon loads it from this process on the other core.
//
//   npm run build && node bench/template-throughput.js [--duration 10] [--connections 64] [--rounds 3]
import { fork, execFileSync } from 'node:child_process';
import autocannon from 'autocannon';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const duration = arg('duration', 10);
const connections = arg('connections', 64);
const rounds = arg('rounds', 3);
const pk = `pk_test_${'A1b2C3d4'.repeat(12)}`;

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();
if (hasTaskset) execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

async function start(script) {
  const child = fork(new URL(`./servers/${script}`, import.meta.url), [], {
    env: { ...process.env, BENCH_PK: pk, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  if (hasTaskset) execFileSync('taskset', ['-p', '-c', '0', String(child.pid)], { stdio: 'ignore' });
  const { port } = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/api/stripe-pk` };
}

async function load(url) {
  await autocannon({ url, connections, duration: 2 }); // warm-up (JIT, caches)
  const r = await autocannon({ url, connections, duration });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return r.requests.average;
}

const results = { bare: [], template: [] };
for (let round = 0; round < rounds; round++) {
  // Alternate the order so drift on a noisy machine does not favour one side.
  const order = round % 2 ? ['template', 'bare'] : ['bare', 'template'];
  for (const which of order) {
    const server = await start(which === 'bare' ? 'bare-node-http.js' : 'template-site.js');
    results[which].push(await load(server.url));
    server.child.disconnect();
    await new Promise((resolve) => server.child.once('exit', resolve));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bare = median(results.bare);
const template = median(results.template);
console.log(JSON.stringify({ duration, connections, rounds, pinned: hasTaskset, bare_rps: Math.round(bare), template_rps: Math.round(template), ratio: +(template / bare).toFixed(3), target: 0.8 }, null, 2));
