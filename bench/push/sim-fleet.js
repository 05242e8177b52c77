// A fleet of simulated template sites for the push benchmark: sites [from, to) of the fleet, each
// on its own loopback address (common.js) on one fixed port, all served by this process.
// Each site speaks the part of the wire contract a push uses (DESIGN §1), statefully, and every
// answer is delayed by the site's latency. node:http only, so the sim costs as little CPU as we can.
//
//   node bench/push/sim-fleet.js --from 0 --to 5000 --port 18080 --latency 50   (SIM_API_KEY in env)
//
// Why one http.Server per address: a server bound to 127.x.y.z only ever sees loopback traffic
// (binding 0.0.0.0 and sorting by local address would listen on every interface). Each listener
// is one file descriptor and each keep-alive connection another, so with `ulimit -n` = 20,000 one
// process can serve ~6,000 sites; run.js gives each 5,000 and starts as many as N needs.
//
// Forked with IPC (run.js): sends {type:'ready'}, answers {type:'stats'}, {type:'reset'} and
// {type:'mode', mode}, exits on disconnect. Standalone: prints the ready line, prints stats on
// SIGINT/SIGTERM.
//
// --mode (or the `mode` message) says which site the fleet is:
//   keyfleet  the template before issue 10: per-setting PUTs only (the authenticated view has no capabilities)
//   atomic    the template with issue 10's atomic write: `capabilities: ["atomic_write"]` and
//             PUT /api/export/settings {"values":{…}} answering the key view as committed
//   seed      the original template (SEED_TEMPLATE.md): no health routes (Flask's HTML 404),
//             GET /api/export/stats to prove the key, its own answer bodies; one worker, no cache
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { now, siteAddress, siteIndex } from './common.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const from = Number(arg('from', 0));
const to = Number(arg('to', 100));
const port = Number(arg('port', 18080));
const latency = Number(arg('latency', 50));
// The template is Fastify, whose default keep-alive is 72 s (nginx: 75 s); a client keeps idle
// connections that long too, which is what a real fleet costs it in file descriptors.
const keepAliveMs = Number(arg('keep-alive', 72_000));
let mode = arg('mode', 'keyfleet');
const MODES = ['keyfleet', 'atomic', 'seed'];
if (!MODES.includes(mode)) throw new Error(`--mode must be one of ${MODES.join(', ')}`);
const apiKey = process.env.SIM_API_KEY ?? '';
if (!apiKey) throw new Error('SIM_API_KEY is required');

// --- state: a few bytes per site -----------------------------------------------------------------
// Values are interned (a push writes the same key to every site), so a site holds small ids.
const count = to - from;
const pkRef = new Uint16Array(count); // 0 = none, else index into `values`
const skRef = new Uint16Array(count);
const pkAt = new Uint32Array(count); // updated_at, seconds since the epoch
const skAt = new Uint32Array(count);
const perSite = new Uint16Array(count); // requests per site, for their distribution over the sites
let values = [null];
const valueIds = new Map();
function intern(value) {
  let id = valueIds.get(value);
  if (id === undefined) {
    if (values.length >= 65535) throw new Error('too many distinct values');
    id = values.length;
    const mode = /^(?:pk|sk|rk)_(test|live)_/.exec(value)?.[1] ?? null;
    const fp = createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 16);
    values.push({ value, mode, info: { fingerprint: fp, last4: value.slice(-4), mode, source: 'settings', shadows_env: false } });
    valueIds.set(value, id);
  }
  return id;
}

// --- measurement ------------------------------------------------------------------------------
// Every request's arrival and answer time (ms, comparable across processes): run.js merges the
// logs of all sim processes to get the fleet-wide peak of requests held at once.
let starts = [];
let ends = [];
let requests = 0;
let inFlight = 0;
let peak = 0;
let byRoute = {};
let firstPut = Infinity; // the client's first write: where keyfleet's preflight pass ends
let cpuBase = process.cpuUsage(); // the sim's own CPU per client run, to read the wall time against

// --- the sites' routes --------------------------------------------------------------------------
const FORMATS = {
  stripe_publishable_key: /^pk_(test|live)_[A-Za-z0-9]+$/,
  stripe_secret_key: /^(sk|rk)_(test|live)_[A-Za-z0-9]+$/,
};
const SAVED = {
  stripe_publishable_key: '{"success":true,"message":"publishable_key_saved"}',
  stripe_secret_key: '{"success":true,"message":"secret_saved"}',
};
const error = (status, code, message) => [status, JSON.stringify({ success: false, error: code, message })];
const iso = (s) => (s ? JSON.stringify(new Date(s * 1000).toISOString()) : 'null');

function keyJson(ref, at, withValue) {
  if (ref === 0) return 'null';
  const v = values[ref];
  const head = withValue ? `{"value":${JSON.stringify(v.value)},` : '{';
  return `${head}${JSON.stringify(v.info).slice(1, -1)},"updated_at":${iso(at)}}`;
}

function healthStripe(site, authed) {
  const pk = pkRef[site];
  const sk = skRef[site];
  const env = values[sk]?.mode ?? values[pk]?.mode ?? null;
  const base = `{"success":true,"secret_key_configured":${sk !== 0},"publishable_key_configured":${pk !== 0},"environment":${JSON.stringify(env)}`;
  if (!authed) return `${base}}`;
  const caps = mode === 'atomic' ? ',"capabilities":["atomic_write"]' : '';
  return (
    `${base},"authenticated":true${caps},"keys":{"stripe_publishable_key":${keyJson(pk, pkAt[site], true)},` +
    `"stripe_secret_key":${keyJson(sk, skAt[site], false)},"stripe_webhook_secret":null,"stripe_price_id":null}}`
  );
}

const FLASK_404 = '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n';
const SEED_SAVED = {
  stripe_publishable_key: '{"message":"stripe_publishable_key mis \\u00e0 jour","success":true}',
  stripe_secret_key: '{"message":"secret_saved","success":true}',
};

/** The original template's answers (SEED_TEMPLATE.md), for the routes a push uses. */
function seedAnswer(site, method, url, key, body) {
  const authed = key === apiKey;
  if (url === '/api/export/stats' && method === 'GET') {
    if (!authed) return [401, '{"error":"invalid_api_key","success":false}'];
    return [200, `{"stats":{"settings":2},"success":true,"timestamp":"${new Date().toISOString()}"}`];
  }
  if (url === '/api/stripe-pk' && method === 'GET') {
    const pk = pkRef[site];
    return pk ? [200, `{"publishable_key":${JSON.stringify(values[pk].value)},"success":true}`] : [404, '{"message":"no_publishable_key","success":false}'];
  }
  const name = url.startsWith('/api/export/settings/') ? url.slice(21) : null;
  if (name !== null && method === 'PUT' && SEED_SAVED[name]) {
    if (!authed) return name === 'stripe_publishable_key' ? [403, '{"error":"Cl\\u00e9 API invalide","success":false}'] : [401, '{"error":"invalid_api_key","success":false}'];
    let value;
    try {
      value = JSON.parse(body).value;
    } catch {
      return [500, '{"error":"400 Bad Request: Failed to decode JSON object","success":false}'];
    }
    const at = Math.floor(Date.now() / 1000);
    if (name === 'stripe_secret_key') {
      if (typeof value !== 'string' || !/^sk_(test|live)_[A-Za-z0-9_-]+$/.test(value)) return [400, '{"error":"invalid_secret_format","success":false}'];
      [skRef[site], skAt[site]] = [intern(value), at];
    } else {
      if (typeof value !== 'string' || !/^pk_(test|live)_[A-Za-z0-9_-]+$/.test(value)) return [400, '{"error":"invalid_publishable_format","success":false}'];
      [pkRef[site], pkAt[site]] = [intern(value), at];
    }
    return [200, SEED_SAVED[name]];
  }
  return [404, FLASK_404];
}

/** Issue 10's atomic write: every value validated, then all written; the answer is the key view. */
function atomicWrite(site, body) {
  let values_;
  try {
    values_ = JSON.parse(body).values;
  } catch {
    return error(400, 'invalid_request', 'body must be {"values":{…}}');
  }
  if (typeof values_ !== 'object' || values_ === null) return error(400, 'invalid_request', 'body must be {"values":{…}}');
  for (const [name, value] of Object.entries(values_)) {
    if (!FORMATS[name]) return error(404, 'unknown_setting', `no setting ${name}`);
    if (typeof value !== 'string' || !FORMATS[name].test(value)) {
      const code = name === 'stripe_secret_key' ? 'invalid_secret_format' : 'invalid_publishable_key_format';
      return [400, JSON.stringify({ success: false, error: code, message: 'value does not have the expected format', setting: name })];
    }
  }
  const at = Math.floor(Date.now() / 1000);
  for (const [name, value] of Object.entries(values_)) {
    if (name === 'stripe_secret_key') [skRef[site], skAt[site]] = [intern(value), at];
    else [pkRef[site], pkAt[site]] = [intern(value), at];
  }
  return [200, healthStripe(site, true)];
}

/** [status, body] for one request to site `site` (an index into this process's range). */
function answer(site, method, url, key, body) {
  if (mode === 'seed') return seedAnswer(site, method, url, key, body);
  const authed = key === apiKey; // a bench sim: no constant-time compare, no rate limit
  if (mode === 'atomic' && url === '/api/export/settings' && method === 'PUT') {
    if (!authed) return error(401, 'invalid_api_key', 'X-API-Key was not accepted');
    return atomicWrite(site, body);
  }
  if (url === '/api/health/stripe' && method === 'GET') {
    if (key !== undefined && !authed) return error(401, 'invalid_api_key', 'X-API-Key was not accepted');
    return [200, healthStripe(site, authed)];
  }
  const name = url.startsWith('/api/export/settings/') ? url.slice(21) : null;
  if (name !== null && method === 'PUT') {
    if (!authed) return error(401, 'invalid_api_key', 'X-API-Key was not accepted');
    if (!FORMATS[name]) return error(404, 'unknown_setting', `no setting ${name}`);
    let value;
    try {
      value = JSON.parse(body).value;
    } catch {
      return error(400, 'invalid_request', 'body must be {"value":"…"}');
    }
    if (typeof value !== 'string' || !FORMATS[name].test(value)) {
      const code = name === 'stripe_secret_key' ? 'invalid_secret_format' : 'invalid_publishable_key_format';
      return error(400, code, 'value does not have the expected format');
    }
    const at = Math.floor(Date.now() / 1000);
    if (name === 'stripe_secret_key') [skRef[site], skAt[site]] = [intern(value), at];
    else [pkRef[site], pkAt[site]] = [intern(value), at];
    return [200, SAVED[name]];
  }
  return error(404, 'not_found', 'no such route');
}

function onRequest(req, res) {
  const arrived = now();
  requests += 1;
  if (++inFlight > peak) peak = inFlight;
  starts.push(arrived);
  const route = `${req.method} ${req.url.startsWith('/api/export/settings/') ? 'setting' : req.url}`;
  byRoute[route] = (byRoute[route] ?? 0) + 1;
  if (req.method === 'PUT' && arrived < firstPut) firstPut = arrived;
  perSite[siteIndex(req.socket.localAddress) - from] += 1;
  const site = siteIndex(req.socket.localAddress) - from;
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    if (body.length < 8192) body += chunk;
  });
  req.on('end', () => {
    // The latency counts from the request's arrival, whatever the body took.
    setTimeout(() => {
      const [status, text] = answer(site, req.method, req.url, req.headers['x-api-key'], body);
      // Counted as answered before the write: once written, the client may send its next request
      // to another sim process before this line would run, and the peak would count both.
      inFlight -= 1;
      ends.push(now());
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    }, Math.max(0, latency - (now() - arrived)));
  });
}

// --- servers ----------------------------------------------------------------------------------
const servers = [];
function listen(i) {
  const server = createServer({ keepAliveTimeout: keepAliveMs }, onRequest);
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: siteAddress(i), backlog: 511 }, resolve);
  });
}

function stats() {
  let pkSet = 0;
  let skSet = 0;
  for (let s = 0; s < count; s++) {
    if (pkRef[s]) pkSet++;
    if (skRef[s]) skSet++;
  }
  const cpu = process.cpuUsage(cpuBase);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  // How many sites got how many requests: {"2": 9998, "4": 2} — the atomic path's promise, per site.
  const perSiteHistogram = {};
  for (let s = 0; s < count; s++) perSiteHistogram[perSite[s]] = (perSiteHistogram[perSite[s]] ?? 0) + 1;
  return { from, to, requests, peak, byRoute, pkSet, skSet, cpuS, firstPut, perSiteHistogram, starts: Float64Array.from(starts), ends: Float64Array.from(ends) };
}

function reset() {
  pkRef.fill(0);
  skRef.fill(0);
  pkAt.fill(0);
  skAt.fill(0);
  perSite.fill(0);
  values = [null];
  valueIds.clear();
  starts = [];
  ends = [];
  [requests, inFlight, peak, byRoute, firstPut] = [0, 0, 0, {}, Infinity];
  // A fresh fleet for the next client: no connection of the previous one is reused.
  for (const s of servers) s.closeAllConnections();
  cpuBase = process.cpuUsage();
}

// Listen in batches: thousands of listen() calls at once is fine, but errors are clearer this way.
for (let i = from; i < to; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, to - i) }, (_, k) => listen(i + k)));
}
cpuBase = process.cpuUsage(); // the first client's share starts here, not with thousands of listen() calls
const ready = { type: 'ready', from, to, port, latency, first: siteAddress(from), last: siteAddress(to - 1) };
if (process.send) {
  process.send(ready);
  process.on('message', (m) => {
    if (m?.type === 'stats') process.send({ type: 'stats', ...stats() });
    else if (m?.type === 'reset') {
      reset();
      process.send({ type: 'reset' });
    } else if (m?.type === 'mode') {
      if (!MODES.includes(m.mode)) throw new Error(`unknown mode ${m.mode}`);
      mode = m.mode;
      process.send({ type: 'mode' });
    }
  });
  process.on('disconnect', () => process.exit(0));
} else {
  console.log(JSON.stringify(ready));
  const bye = () => {
    const { starts: _s, ends: _e, ...rest } = stats();
    console.log(JSON.stringify(rest));
    process.exit(0);
  };
  process.on('SIGINT', bye);
  process.on('SIGTERM', bye);
}
