// The push benchmark's reference: the same requests as keyfleet, sent through undici with nothing
// around them — no retries, no schema checks, no state, no report. What the HTTP stack alone costs
// on this machine: keyfleet's overhead is its distance from this row, the machine's is this row's
// distance from the floor. Per site: GET /api/health/stripe → PUT each differing setting → GET again,
// one undici Client per site (Agent, connections: 1) closed after the last request, at most C
// requests in flight (p-limit), 2·C sites at once — keyfleet's own shape.
//
//   node bench/push/undici_bare.js sites.txt 256     (env: TEMPLATE_MASTER_API_KEY, STRIPE_*)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pLimit from 'p-limit';
import { Agent } from 'undici';

const [sitesFile, concurrency = '256'] = process.argv.slice(2);
const C = Number(concurrency);
const sites = readFileSync(sitesFile, 'utf8').split('\n').filter(Boolean);
const apiKey = process.env.TEMPLATE_MASTER_API_KEY;
const desired = [
  ['stripe_secret_key', process.env.STRIPE_SECRET_KEY],
  ['stripe_publishable_key', process.env.STRIPE_PUBLISHABLE_KEY],
];
const fingerprint = (v) => createHash('sha256').update(v).digest('hex').slice(0, 16);
const wanted = new Map(desired.map(([name, v]) => [name, fingerprint(v)]));
const agent = new Agent({ connections: 1, headersTimeout: 8000, bodyTimeout: 8000 });
const limit = pLimit(C);

async function call(origin, method, path, headers, body, reset) {
  return limit(async () => {
    const res = await agent.request({ origin, path, method, headers, body, reset });
    const json = JSON.parse(await res.body.text());
    if (res.statusCode !== 200 || json.success !== true) throw new Error(`${method} ${origin}${path}: ${res.statusCode}`);
    return json;
  });
}

let ok = 0;
async function pushSite(url) {
  const origin = new URL(url).origin;
  const auth = { 'x-api-key': apiKey };
  const before = await call(origin, 'GET', '/api/health/stripe', auth, null, false);
  let changed = false;
  for (const [name, value] of desired) {
    if (before.keys?.[name]?.fingerprint === wanted.get(name)) continue;
    await call(origin, 'PUT', `/api/export/settings/${name}`, { ...auth, 'content-type': 'application/json' }, JSON.stringify({ value }), false);
    changed = true;
  }
  const after = await call(origin, 'GET', '/api/health/stripe', auth, null, true);
  if (changed && desired.some(([name]) => after.keys?.[name]?.fingerprint !== wanted.get(name))) throw new Error(`${url}: verify failed`);
  ok += 1;
}

let next = 0;
let failed = 0;
await Promise.all(
  Array.from({ length: 2 * C }, async () => {
    while (next < sites.length) {
      const url = sites[next++];
      await pushSite(url).catch(() => (failed += 1));
    }
  }),
);
await agent.close();
process.stdout.write(`${JSON.stringify({ summary: { ok, failed } })}\n`);
