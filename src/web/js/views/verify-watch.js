/**
 * The periodic verify as the Sites view follows it: what the last sweep found, a reload whenever a
 * sweep (periodic or asked for) has finished since the last look, and "Verify now".
 */
import { ROUTES, api } from '../api.js';
import { replace } from '../dom.js';
import { ago, num, plural } from '../format.js';

/** How often the status is read: often enough to follow a short interval, never more than every 2 s. */
const pollMs = (intervalS) => Math.min(15_000, Math.max(2_000, (intervalS * 1000) / 2));
const VERIFY_NOW_POLL_MS = 500;
const VERIFY_NOW_LIMIT_MS = 10 * 60_000;

/** `onSwept()` reloads the sites; `infoEl` says what the verify did last. */
export function watchVerify({ infoEl, onSwept }) {
  let lastSweep;
  let stopped = false;
  let timer = null;

  function show(status) {
    const parts = [];
    if (status.running) parts.push('Verifying every site now…');
    else if (status.last_finished_at)
      parts.push(
        `Last verify ${ago(status.last_finished_at)}: ${plural(status.last_checked, 'site')} checked, ${num(status.last_drifted)} drifted.`,
      );
    else parts.push('No verify has run since the dashboard started.');
    parts.push(
      status.interval_s > 0
        ? `Every site is verified every ${status.interval_s} s.`
        : 'Periodic verify is off.',
    );
    replace(infoEl, parts.join(' '));
  }

  async function poll() {
    if (stopped) return;
    let next = 15_000;
    try {
      const status = await api(ROUTES.verify);
      show(status);
      next = pollMs(status.interval_s || 30);
      const changed = lastSweep !== undefined && status.last_finished_at !== lastSweep;
      lastSweep = status.last_finished_at;
      if (changed) await onSwept(status);
    } catch {
      // The next look tries again; a lost session shows the login by itself.
    }
    if (!stopped) timer = setTimeout(poll, next);
  }

  /** Starts a sweep and resolves with its status once it has finished. */
  async function verifyNow() {
    const started = await api(ROUTES.verify, { method: 'POST', body: {} });
    show(started);
    const before = started.running ? started.sweeps : started.sweeps - 1;
    const deadline = Date.now() + VERIFY_NOW_LIMIT_MS;
    let status = started;
    while (!stopped && (status.running || status.sweeps <= before) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, VERIFY_NOW_POLL_MS));
      status = await api(ROUTES.verify);
    }
    show(status);
    lastSweep = status.last_finished_at;
    return stopped ? null : status;
  }

  return {
    start: poll,
    verifyNow,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
