// Push benchmark (DESIGN §4): keyfleet's real `push` against N simulated sites, each on its own
// loopback address with L ms of latency, next to an aiohttp script making the same requests, in
// the same run. Reports wall time against the floor R·L/C, CPU seconds (user+sys), peak RSS and
// peak requests in flight, from `/usr/bin/time` and the simulated fleet.
//
//   npm run build && node bench/push/run.js --sites 10000 --latency 50 --concurrency 256
//   node bench/push/run.js --rss-only                  # 50,000 sites, keyfleet only (RSS target)
//
// Rows (--rows, comma-separated; default all): keyfleet on three fleets of the same size —
//   atomic       sites with issue 10's atomic write: 2 requests per changed site
//   per-setting  sites without it (today's path): preflight, two PUTs, read-back
//   seed         sites of the original template (SEED_TEMPLATE.md): the seed protocol
// and, on the per-setting fleet, the peers doing the old four-request job: bare (undici alone) and
// aiohttp. Every row reports requests per site (and their distribution over the sites).
//
// Options: --sites N --latency L --concurrency C --rows atomic,per-setting,seed,bare,aiohttp
//          --skip-python --skip-bare --rss-only --port 18080
//          --per-sim 5000 (sites per sim process) --keep-alive 72000 (sites' keep-alive, ms)
//          --node-args '--cpu-prof --cpu-prof-dir=/tmp/prof' (for keyfleet's node)
//          --out results.json --verbose (fleet counts and client summaries on stderr)
// Loopback only: every site is 127.x.y.z. Every process is killed after a timeout.
import { execFileSync, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { now, siteAddress } from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

const argv = process.argv.slice(2);
const has = (name) => argv.includes(`--${name}`);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const rssOnly = has('rss-only');
const N = Number(opt('sites', rssOnly ? 50_000 : 10_000));
const L = Number(opt('latency', 50));
const C = Number(opt('concurrency', 256));
const port = Number(opt('port', 18080));
const perSim = Number(opt('per-sim', 5000));
const keepAlive = Number(opt('keep-alive', 72_000));
const ROWS = ['atomic', 'per-setting', 'seed', 'bare', 'aiohttp'];
const wanted = new Set(opt('rows', rssOnly ? 'per-setting' : ROWS.join(',')).split(',').map((r) => r.trim()));
for (const r of wanted) if (!ROWS.includes(r)) throw new Error(`--rows: unknown row ${r} (known: ${ROWS.join(', ')})`);
if (has('skip-python')) wanted.delete('aiohttp');
if (has('skip-bare')) wanted.delete('bare');
const skipPython = !wanted.has('aiohttp');
const outFile = opt('out', null);
const verbose = has('verbose');
const nodeArgs = opt('node-args', '').split(' ').filter(Boolean); // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
for (const [k, v] of Object.entries({ N, L, C, port, perSim, keepAlive })) {
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${k} must be a whole number`);
}
if (N < 1 || N > 254 * 65_535) throw new Error('--sites must be between 1 and 16,645,890 (127.0.1.1 … 127.255.255.254)');

const PYTHON = '/usr/bin/python3';
const TIME = '/usr/bin/time';
if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error('keyfleet is not built: run `npm run build` first');
if (!existsSync(TIME)) throw new Error(`${TIME} is missing: apt-get install -y time`);
if (!skipPython) {
  try {
    execFileSync(PYTHON, ['-c', 'import aiohttp'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${PYTHON} cannot import aiohttp: apt-get install -y python3-aiohttp (or pass --skip-python)`);
  }
}

// Keys made up at run time: shaped like Stripe's, never real.
const alnum = (n) => randomBytes(n * 2).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, n);
const keys = {
  TEMPLATE_MASTER_API_KEY: alnum(48),
  STRIPE_SECRET_KEY: `sk_test_${alnum(99)}`,
  STRIPE_PUBLISHABLE_KEY: `pk_test_${alnum(99)}`,
};

const tmp = mkdtempSync(join(tmpdir(), 'keyfleet-bench-push-'));
const sitesFile = join(tmp, 'sites.txt');
writeFileSync(sitesFile, Array.from({ length: N }, (_, i) => `http://${siteAddress(i)}:${port}\n`).join(''));

// --- bounded lifetime: whatever happens, nothing outlives the harness --------------------------
const sims = [];
const groups = new Set(); // process groups of timed clients
function cleanup() {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const s of sims) if (s.exitCode === null) s.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
const floorS = (requests) => (requests * L) / C / 1000;
// The whole run: the clients at a generous multiple of the expected floor, plus start-up.
const budgetMs = (90 * wanted.size + wanted.size * 10 * floorS(8 * N)) * 1000; // every client, at up to 8 requests per site
setTimeout(() => {
  console.error(`bench: gave up after ${Math.round(budgetMs / 1000)} s`);
  process.exit(1);
}, budgetMs).unref();

// --- the simulated fleet --------------------------------------------------------------------
function ask(child, type, timeoutMs = 60_000, payload = {}) {
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      reject(new Error(`sim ${child.pid}: ${why} (port ${port} taken? see its error above)`));
    };
    const timer = setTimeout(() => fail(`no "${type}" answer`), timeoutMs);
    const onExit = (code) => fail(`exited with ${code}`);
    const onMessage = (m) => {
      if (m?.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (type !== 'ready') child.send({ ...payload, type });
  });
}

async function startFleet() {
  const ready = [];
  for (let from = 0; from < N; from += perSim) {
    const to = Math.min(N, from + perSim);
    const child = fork(join(here, 'sim-fleet.js'), ['--from', from, '--to', to, '--port', port, '--latency', L, '--keep-alive', keepAlive].map(String), {
      env: { PATH: process.env.PATH, SIM_API_KEY: keys.TEMPLATE_MASTER_API_KEY },
      serialization: 'advanced', // request timestamps come back as Float64Arrays
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    sims.push(child);
    ready.push(ask(child, 'ready'));
  }
  await Promise.all(ready);
}

/** Requests, the fleet-wide peak held at once (all sims' logs merged), sites holding both keys. */
async function fleetStats() {
  const all = await Promise.all(sims.map((s) => ask(s, 'stats')));
  const starts = Float64Array.from(all.flatMap((s) => Array.from(s.starts))).sort();
  const ends = Float64Array.from(all.flatMap((s) => Array.from(s.ends))).sort();
  let peak = 0;
  let held = 0;
  // Time-weighted requests held per 500 ms bucket (--verbose): where a run leaves slots unused.
  const bucketMs = 500;
  const timeline = [];
  let last = starts[0];
  const advance = (t) => {
    for (let b = Math.floor((last - starts[0]) / bucketMs); last < t; b++) {
      const until = Math.min(t, starts[0] + (b + 1) * bucketMs);
      timeline[b] = (timeline[b] ?? 0) + (held * (until - last)) / bucketMs;
      last = until;
    }
  };
  for (let i = 0, j = 0; i < starts.length || j < ends.length; ) {
    if (i >= starts.length || (j < ends.length && ends[j] <= starts[i])) {
      advance(ends[j]);
      held -= 1; // an answer sent at the same instant frees its slot first
      j += 1;
    } else {
      advance(starts[i]);
      held += 1;
      i += 1;
      if (held > peak) peak = held;
    }
  }
  const sum = (f) => all.reduce((n, s) => n + f(s), 0);
  // Σ(answer times) − Σ(arrival times) is the total time requests were held, however they pair up.
  const heldMs = ends.reduce((a, b) => a + b, 0) - starts.reduce((a, b) => a + b, 0);
  return {
    timeline: timeline.map((x) => Math.round(x)),
    heldMs,
    firstStart: starts[0],
    firstPut: Math.min(...all.map((s) => s.firstPut)),
    lastEnd: ends[ends.length - 1],
    requests: sum((s) => s.requests),
    peak,
    simLocalPeaks: all.map((s) => s.peak),
    bothKeys: sum((s) => Math.min(s.pkSet, s.skSet)),
    simCpuS: sum((s) => s.cpuS),
    perSite: all.reduce((acc, s) => {
      for (const [k, v] of Object.entries(s.perSiteHistogram)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {}),
    byRoute: all.reduce((acc, s) => {
      for (const [k, v] of Object.entries(s.byRoute)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {}),
  };
}

// --- timed clients --------------------------------------------------------------------------
/** Runs `cmd` under /usr/bin/time (wall, user, sys, max RSS) in its own process group, bounded. */
function timed(label, cmd, args, env, timeoutMs) {
  const timeFile = join(tmp, `${label}.time`);
  return new Promise((resolve) => {
    const child = spawn(TIME, ['-o', timeFile, '-f', '%e %U %S %M', cmd, ...args], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    groups.add(child.pid);
    const spawnedAt = now();
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      const closedAt = now();
      clearTimeout(timer);
      groups.delete(child.pid);
      let time = null;
      try {
        // time prints "Command exited with non-zero status N" first when the command fails.
        const [wall, user, sys, rssKiB] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        time = { wall, cpu: user + sys, user, sys, rssMB: rssKiB / 1024 };
      } catch {
        /* killed before time wrote anything */
      }
      resolve({ code, timedOut, stdout, stderr, time, spawnedAt, closedAt });
    });
  });
}

const baseEnv = { PATH: process.env.PATH, HOME: tmp, XDG_DATA_HOME: tmp, NO_COLOR: '1', ...keys }; // no proxy variables
const clientTimeoutMs = (30 + 10 * floorS(8 * N)) * 1000;

async function runKeyfleet(label) {
  const statsFile = join(tmp, `client-stats-${label}.json`);
  const args = [...nodeArgs, '--import', pathToFileURL(join(here, 'client-peak.js')).href, join(root, 'bin/keyfleet.js'),
    'push', '--sites-file', sitesFile, '--yes', '--json', '--concurrency', String(C), '--canary', '0', '--max-failures', '100%'];
  // A state database per row: no protocol remembered from another row's fleet.
  const env = { ...baseEnv, KEYFLEET_DB: join(tmp, `keyfleet-${label}.db`), BENCH_CLIENT_STATS: statsFile };
  const r = await timed(`keyfleet-${label}`, process.execPath, args, env, clientTimeoutMs);
  let summary = null;
  try {
    summary = JSON.parse(r.stdout).summary;
  } catch {
    /* reported below */
  }
  const client = existsSync(statsFile) ? JSON.parse(readFileSync(statsFile, 'utf8')) : null;
  return { ...r, ok: summary?.ok ?? 0, summary, clientPeak: client?.peak ?? null, memory: client?.peakMB ?? null, clientMs: client?.meanRequestMs ?? null, loopDelayMs: client?.loopDelayMs ?? null };
}

async function runBare() {
  const statsFile = join(tmp, 'bare-stats.json');
  const args = ['--import', pathToFileURL(join(here, 'client-peak.js')).href, join(here, 'undici_bare.js'), sitesFile, String(C)];
  const r = await timed('undici-bare', process.execPath, args, { ...baseEnv, BENCH_CLIENT_STATS: statsFile }, clientTimeoutMs);
  let summary = null;
  try {
    summary = JSON.parse(r.stdout).summary;
  } catch {
    /* reported below */
  }
  const client = existsSync(statsFile) ? JSON.parse(readFileSync(statsFile, 'utf8')) : null;
  return { ...r, ok: summary?.ok ?? 0, summary, clientPeak: client?.peak ?? null };
}

async function runAiohttp() {
  const args = [join(here, 'aiohttp_push.py'), '--sites-file', sitesFile, '--concurrency', String(C)];
  const r = await timed('aiohttp', PYTHON, args, baseEnv, clientTimeoutMs);
  let out = null;
  try {
    out = JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    /* reported below */
  }
  return { ...r, ok: out?.ok ?? 0, summary: out, clientPeak: out?.peak_in_flight ?? null };
}

async function measure(name, mode, run) {
  await Promise.all(sims.map((s) => ask(s, 'mode', 60_000, { mode })));
  const r = await run();
  const fleet = await fleetStats();
  await Promise.all(sims.map((s) => ask(s, 'reset')));
  if (verbose) console.error(name, JSON.stringify({ ...fleet, summary: r.summary, time: r.time }));
  if (r.code !== 0 || r.timedOut || r.ok !== N || fleet.bothKeys !== N) {
    console.error(`${name}: exit ${r.code}${r.timedOut ? ' (timed out)' : ''}, ${r.ok}/${N} sites ok, ${fleet.bothKeys} sites hold both keys`);
    console.error(r.stderr.trim().split('\n').slice(-15).join('\n'));
  }
  const t = r.time;
  const floor = floorS(fleet.requests);
  return {
    client: name,
    fleet: mode,
    sites: N,
    latency_ms: L,
    concurrency: C,
    requests: fleet.requests,
    requests_per_site: round(fleet.requests / N),
    requests_per_site_histogram: fleet.perSite,
    floor_s: round(floor),
    wall_s: t?.wall ?? null,
    wall_over_floor: t ? round(t.wall / floor) : null,
    cpu_s: t ? round(t.cpu) : null,
    user_s: t?.user ?? null,
    sys_s: t?.sys ?? null,
    peak_rss_mb: t ? round(t.rssMB, 1) : null,
    peak_in_flight_sim: fleet.peak,
    peak_in_flight_client: r.clientPeak,
    sites_ok: r.ok,
    sites_holding_keys: fleet.bothKeys,
    sim_cpu_s: round(fleet.simCpuS),
    // Where the wall time goes, from the fleet's clock: start-up before the first request, the
    // preflight pass (to the first PUT), the writes and verifies, and exit after the last answer.
    startup_s: round((fleet.firstStart - r.spawnedAt) / 1000),
    preflight_s: Number.isFinite(fleet.firstPut) ? round((fleet.firstPut - fleet.firstStart) / 1000) : null,
    writes_s: Number.isFinite(fleet.firstPut) ? round((fleet.lastEnd - fleet.firstPut) / 1000) : null,
    exit_s: round((r.closedAt - fleet.lastEnd) / 1000),
    // Requests the fleet held on average while the client was active, and for how long each: a
    // mean hold above L means the sims (or the machine) could not keep the latency, not the client.
    avg_in_flight: round(fleet.heldMs / (fleet.lastEnd - fleet.firstStart), 1),
    mean_hold_ms: round(fleet.heldMs / fleet.requests, 1),
    exit: r.timedOut ? 'timeout' : r.code,
    // keyfleet only: peaks of process.memoryUsage() sampled every 250 ms (MB)
    memory_peaks_mb: r.memory ?? null,
    client_mean_request_ms: r.clientMs ?? null, // created → read to the end, as keyfleet sees it
    loop_delay_ms: r.loopDelayMs ?? null,
    loadavg_after: loadavg().map((x) => round(x)),
  };
}
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

// --- run ----------------------------------------------------------------------------------
const started = new Date();
const loadBefore = loadavg().map((x) => round(x)); // the machine is shared: say how busy it was
await startFleet();
console.error(`bench: ${N} sites on ${sims.length} sim process(es), ${siteAddress(0)}…${siteAddress(N - 1)}:${port}, L=${L} ms, C=${C}`);
const rows = [];
if (wanted.has('atomic')) rows.push(await measure('keyfleet-atomic', 'atomic', () => runKeyfleet('atomic')));
if (wanted.has('per-setting')) rows.push(await measure('keyfleet-per-setting', 'keyfleet', () => runKeyfleet('per-setting')));
if (wanted.has('seed')) rows.push(await measure('keyfleet-seed', 'seed', () => runKeyfleet('seed')));
if (wanted.has('bare')) rows.push(await measure('undici-bare', 'keyfleet', runBare));
if (wanted.has('aiohttp')) rows.push(await measure('aiohttp', 'keyfleet', runAiohttp));
for (const s of sims) s.disconnect();
if (rows.length === 0) throw new Error('--rows selected nothing');

const atomic = rows.find((r) => r.client === 'keyfleet-atomic');
const perSetting = rows.find((r) => r.client === 'keyfleet-per-setting');
const seedRow = rows.find((r) => r.client === 'keyfleet-seed');
const kf = perSetting ?? atomic ?? seedRow ?? rows[0];
const bare = rows.find((r) => r.client === 'undici-bare');
const py = rows.find((r) => r.client === 'aiohttp');
const verdicts = [];
for (const r of [atomic, perSetting, seedRow].filter(Boolean)) verdicts.push(`${r.client}: ${r.requests_per_site} requests per site ${JSON.stringify(r.requests_per_site_histogram)}, wall / floor = ${r.wall_over_floor}`);
if (atomic && py) verdicts.push(`atomic: CPU / aiohttp CPU = ${round(atomic.cpu_s / py.cpu_s)} (target ≤ 0.35), wall / aiohttp wall = ${round(atomic.wall_s / py.wall_s)} (target ≤ 0.5)`);
if (perSetting && py) verdicts.push(`per-setting: CPU / aiohttp CPU = ${round(perSetting.cpu_s / py.cpu_s)} (target ≤ 0.5)`);
if (perSetting && bare) verdicts.push(`per-setting: CPU / undici alone CPU = ${round(perSetting.cpu_s / bare.cpu_s)} (target ≤ 1.2); wall ${round(perSetting.wall_s / bare.wall_s)}`);
if (py) verdicts.push(`aiohttp wall / floor = ${py.wall_over_floor}`);
if (bare) verdicts.push(`undici alone (reference): wall / floor = ${bare.wall_over_floor}, CPU ${bare.cpu_s} s`);
verdicts.push(`load average before: ${loadBefore.join(' ')}; after each client: ${rows.map((r) => `${r.client} ${r.loadavg_after[0]}`).join(', ')}`);
if (kf.memory_peaks_mb) verdicts.push(`keyfleet memory peaks (MB): ${JSON.stringify(kf.memory_peaks_mb)}`);
if (kf.client_mean_request_ms) verdicts.push(`keyfleet: a request takes ${kf.client_mean_request_ms} ms as keyfleet sees it, ${kf.mean_hold_ms} ms at the site; event-loop delay ${JSON.stringify(kf.loop_delay_ms)}`);
verdicts.push(`keyfleet peak RSS = ${kf.peak_rss_mb} MB${N >= 50_000 ? ' (target < 300 MB at 50,000 sites)' : ''}`);

const cols = ['client', 'fleet', 'sites', 'latency_ms', 'concurrency', 'requests', 'requests_per_site', 'floor_s', 'wall_s', 'wall_over_floor', 'cpu_s', 'peak_rss_mb', 'peak_in_flight_sim', 'peak_in_flight_client', 'sites_ok'];
const cols2 = ['client', 'startup_s', 'preflight_s', 'writes_s', 'exit_s', 'avg_in_flight', 'mean_hold_ms', 'sim_cpu_s'];
const tableOf = (cs) => [`| ${cs.join(' | ')} |`, `|${cs.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cs.map((c) => r[c]).join(' | ')} |`)].join('\n');
console.log(`push benchmark, ${started.toISOString()}: node ${process.argv.slice(1).map((a) => a.replace(root + '/', '')).join(' ')}\n`);
console.log(`${tableOf(cols)}\n\n${tableOf(cols2)}`);
console.log(`\n${verdicts.join('\n')}`);
if (outFile) writeFileSync(outFile, JSON.stringify({ started_at: started.toISOString(), argv, load_before: loadBefore, rows, verdicts }, null, 2));
process.exit(rows.every((r) => r.sites_ok === N) ? 0 : 1);
