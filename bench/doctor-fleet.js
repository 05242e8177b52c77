// `keyfleet doctor` over a simulated fleet on loopback: wall time against the floor that the
// concurrency allows. Each simulated site is its own node:http server on 127.0.0.1 (its own port),
// answering the template's public and authenticated routes after a fixed latency, in a child
// process so that the sites' work is not charged to the doctor. A doctor run without --stripe makes
// 4 HTTP requests per site (GET /, /api/health, /api/stripe-pk, /api/health/stripe) plus one TCP
// connect; with at most C requests in flight the floor is sites × requests × latency ÷ C.
// Next to it, the same requests through the engine's bare dispatcher and in-flight limit (no doctor)
// show what this machine's HTTP stack costs by itself; GNU time, when present, gives both CPU times.
//
//   npm run build && node bench/doctor-fleet.js [--sites 1000] [--latency 50] [--concurrency 16,64,256] [--rounds 3]
import { fork, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

if (process.argv.includes('--sim')) await simulate();
else if (process.argv.includes('--bare')) await bare();
else await measure();

/**
 * The reference (child process): the same 4 requests per site through the engine's own dispatcher and
 * in-flight limit, with no doctor around them: what this machine's HTTP stack costs by itself.
 */
async function bare() {
  const { createDispatcher } = await import('../dist/engine/dispatcher.js');
  const { createInFlightLimit } = await import('../dist/engine/in-flight-limit.js');
  const c = Number(arg('concurrency', '16'));
  const urls = readFileSync(arg('sites-file'), 'utf8').split('\n').filter(Boolean);
  const dispatcher = createDispatcher({ timeoutMs: 30_000, env: {}, maxResponseBytes: 1 << 20 });
  const limit = createInFlightLimit(c);
  const paths = ['/', '/api/health', '/api/stripe-pk', '/api/health/stripe'];
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const origin = urls[next++];
      for (const path of paths) {
        await limit.run(async () => {
          const res = await dispatcher.request({
            origin,
            path,
            method: 'GET',
            headers: { 'x-api-key': process.env.TEMPLATE_MASTER_API_KEY },
          });
          await res.body.text();
        });
      }
    }
  };
  await Promise.all(Array.from({ length: c * 2 }, worker));
  await dispatcher.close();
}

/** The simulated fleet (child process): N servers, one request counter, answers after `latency` ms. */
async function simulate() {
  const sites = Number(arg('sites', '1000'));
  const latency = Number(arg('latency', '50'));
  const { BENCH_PK: pk, BENCH_SK: sk, BENCH_API_KEY: apiKey } = process.env;
  const fp = (v) => createHash('sha256').update(v, 'utf8').digest('hex').slice(0, 16);
  const info = (v, isPublic) => ({
    ...(isPublic ? { value: v } : {}),
    fingerprint: fp(v),
    last4: v.slice(-4),
    mode: 'test',
    source: 'settings',
    shadows_env: false,
    updated_at: null,
  });
  const pub = {
    success: true,
    secret_key_configured: true,
    publishable_key_configured: true,
    environment: 'test',
  };
  const bodies = {
    '/': ['text/html; charset=utf-8', '<!doctype html><title>shop</title>'],
    '/api/health': ['application/json', JSON.stringify({ status: 'ok', version: 'sim', database: 'ok' })],
    '/api/stripe-pk': ['application/json', JSON.stringify({ success: true, publishable_key: pk })],
    public: ['application/json', JSON.stringify(pub)],
    authed: [
      'application/json',
      JSON.stringify({
        ...pub,
        authenticated: true,
        keys: {
          stripe_publishable_key: info(pk, true),
          stripe_secret_key: info(sk, false),
          stripe_webhook_secret: null,
          stripe_price_id: null,
        },
      }),
    ],
  };
  let requests = 0;
  const handler = (req, res) => {
    requests += 1;
    const path = req.url;
    const key =
      path === '/api/health/stripe' ? (req.headers['x-api-key'] === apiKey ? 'authed' : 'public') : path;
    const [type, body] = bodies[key] ?? [
      'application/json',
      '{"success":false,"error":"not_found","message":"Not found."}',
    ];
    setTimeout(() => {
      const headers = { 'content-type': type, 'content-length': Buffer.byteLength(body), server: 'sim' };
      if (path === '/api/stripe-pk') headers['access-control-allow-origin'] = '*';
      res.writeHead(bodies[key] ? 200 : 404, headers).end(body);
    }, latency);
  };
  const ports = [];
  for (let i = 0; i < sites; i++) {
    const server = createServer({ keepAliveTimeout: 30_000 }, handler);
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push(server.address().port);
  }
  process.on('message', (m) => {
    if (m === 'count') process.send({ requests });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ports });
}

/** The parent: starts the fleet, runs the real CLI at each concurrency, prints the table. */
async function measure() {
  const sites = Number(arg('sites', '1000'));
  const latency = Number(arg('latency', '50'));
  const levels = arg('concurrency', '16,64,256').split(',').map(Number);
  const rounds = Number(arg('rounds', '3'));
  const alnum = (n) => randomBytes(n).toString('hex').slice(0, n);
  // Made at run time: no key-shaped literal in the repository.
  const keys = {
    BENCH_PK: `pk_test_${alnum(40)}`,
    BENCH_SK: `sk_test_${alnum(40)}`,
    BENCH_API_KEY: alnum(40),
  };
  const sim = fork(
    new URL(import.meta.url),
    ['--sim', '--sites', String(sites), '--latency', String(latency)],
    {
      env: { ...process.env, ...keys },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const { ports } = await new Promise((resolve, reject) => {
    sim.once('message', resolve);
    sim.once('exit', (code) => reject(new Error(`simulated fleet exited with ${code}`)));
  });
  const count = () =>
    new Promise((resolve) => {
      sim.once('message', (m) => resolve(m.requests));
      sim.send('count');
    });
  const dir = mkdtempSync(join(tmpdir(), 'keyfleet-bench-'));
  const sitesFile = join(dir, 'sites.txt');
  writeFileSync(sitesFile, ports.map((p) => `http://127.0.0.1:${p}`).join('\n'));
  const bin = new URL('../bin/keyfleet.js', import.meta.url).pathname;
  const env = {
    PATH: process.env.PATH,
    NO_COLOR: '1',
    TEMPLATE_MASTER_API_KEY: keys.BENCH_API_KEY,
    STRIPE_PUBLISHABLE_KEY: keys.BENCH_PK,
    STRIPE_SECRET_KEY: keys.BENCH_SK,
  };
  // GNU time, when present, reports the doctor's own CPU time (user + system), to tell waiting from working.
  const timeFile = join(dir, 'cpu.txt');
  const gnuTime = existsSync('/usr/bin/time');
  const run = (args, script = false) =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const [cmd, argv] = gnuTime
        ? [
            '/usr/bin/time',
            ['-f', '%U %S', '-o', timeFile, process.execPath, ...(script ? [] : [bin]), ...args],
          ]
        : [process.execPath, [...(script ? [] : [bin]), ...args]];
      const child = spawn(cmd, argv, { env, cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.once('error', reject);
      child.once('close', (code) => {
        const ms = performance.now() - started;
        const cpu = gnuTime
          ? readFileSync(timeFile, 'utf8')
              .trim()
              .split(/\s+/)
              .slice(-2)
              .reduce((a, b) => a + Number(b) * 1000, 0)
          : NaN;
        resolve({ code, out, ms, cpu });
      });
    });

  // The CLI's fixed cost (node, modules, keys, output): doctor on one closed port, no HTTP at all.
  const fixed = [];
  for (let i = 0; i < 3; i++) fixed.push((await run(['doctor', 'http://127.0.0.1:1', '--json'])).ms);
  const startup = median(fixed);
  console.log(
    `doctor over ${sites} simulated sites, latency ${latency} ms, node ${process.version}, CLI fixed cost ~${Math.round(startup)} ms`,
  );
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} before the runs`,
  );
  console.log(
    'concurrency  requests  floor ms  wall ms (median of %d)  wall-fixed  ÷ floor  doctor CPU ms  bare: wall ms  CPU ms  all pass',
    rounds,
  );
  try {
    for (const c of levels) {
      const walls = [];
      const cpu = [];
      const bares = [];
      const bareCpu = [];
      let perRun = 0;
      let allPass = true;
      for (let round = 0; round < rounds; round++) {
        const before = await count();
        const r = await run([
          'doctor',
          '--sites-file',
          sitesFile,
          '--concurrency',
          String(c),
          '--timeout',
          '30',
          '--retries',
          '0',
          '--json',
        ]);
        perRun = (await count()) - before;
        const reports = JSON.parse(r.out);
        allPass &&= r.code === 0 && reports.length === sites && reports.every((s) => s.diagnosis === null);
        walls.push(r.ms);
        cpu.push(r.cpu);
        const b = await run(
          [fileURLToPath(import.meta.url), '--bare', '--sites-file', sitesFile, '--concurrency', String(c)],
          true,
        );
        if (b.code !== 0) throw new Error('the bare-transport reference failed');
        bares.push(b.ms);
        bareCpu.push(b.cpu);
      }
      const floor = (perRun * latency) / c;
      const wall = median(walls);
      const net = wall - startup;
      console.log(
        `${String(c).padStart(11)}  ${String(perRun).padStart(8)}  ${String(Math.round(floor)).padStart(8)}  ${String(Math.round(wall)).padStart(22)}  ${String(Math.round(net)).padStart(10)}  ${(net / floor).toFixed(2).padStart(7)}  ${String(Math.round(median(cpu))).padStart(13)}  ${String(Math.round(median(bares))).padStart(13)}  ${String(Math.round(median(bareCpu))).padStart(6)}  ${allPass ? 'yes' : 'NO'}`,
      );
    }
  } finally {
    sim.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs) {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
