// Preloaded into the keyfleet process by run.js (`node --import …/client-peak.js bin/keyfleet.js`)
// to see inside it without touching product code:
// - requests in flight: undici publishes every request's creation, completion and failure on
//   diagnostics_channel (three counter updates per request);
// - how long each request takes from the client's side (created → last byte read), to set against
//   the time the fleet held it: the difference is time spent waiting for keyfleet's event loop;
// - event-loop delay (perf_hooks), to see how late the loop gets to ready sockets;
// - memory: process.memoryUsage() every 250 ms, to tell the JS heap from native memory in the RSS.
// At exit the numbers go to the file named by BENCH_CLIENT_STATS.
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const out = process.env.BENCH_CLIENT_STATS;
if (out) {
  let requests = 0;
  let inFlight = 0;
  let peak = 0;
  let totalMs = 0;
  let timed = 0;
  const createdAt = new WeakMap();
  subscribe('undici:request:create', ({ request }) => {
    requests += 1;
    if (++inFlight > peak) peak = inFlight;
    createdAt.set(request, performance.now());
  });
  const done = ({ request }) => {
    inFlight -= 1;
    const t = createdAt.get(request);
    if (t !== undefined) {
      totalMs += performance.now() - t;
      timed += 1;
    }
  };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  subscribe('undici:request:trailers', done); // response read to its end
  subscribe('undici:request:error', done);

  const memory = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  let rssPeakAt = 0; // seconds since start: is the peak during the run or in the final report?
  let rssWhileSending = 0; // peak RSS while requests were in flight (before the report)
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > memory.rss) rssPeakAt = process.uptime();
    if (inFlight > 0) rssWhileSending = Math.max(rssWhileSending, m.rss);
    for (const k of Object.keys(memory)) memory[k] = Math.max(memory[k], m[k]);
  };
  setInterval(sample, 250).unref();
  const mb = (b) => Math.round(b / 1048576);
  process.on('exit', () => {
    sample();
    const peakMB = { ...Object.fromEntries(Object.entries(memory).map(([k, v]) => [k, mb(v)])), rssWhileSending: mb(rssWhileSending), rssPeakAt: Math.round(rssPeakAt * 10) / 10, exitAt: Math.round(process.uptime() * 10) / 10 };
    const ms = (ns) => Math.round(ns / 1e5) / 10;
    const loopDelayMs = { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) };
    const meanRequestMs = timed ? Math.round((10 * totalMs) / timed) / 10 : null;
    writeFileSync(out, JSON.stringify({ requests, peak, inFlight, meanRequestMs, loopDelayMs, peakMB }));
  });
}
