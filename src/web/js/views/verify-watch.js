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

/** While a sweep runs: how often its counts are read, and how often the tiles and rows reload. */
const RUNNING_POLL_MS = 1_000;
const RUNNING_RELOAD_MS = 3_000;

/**
 * What a sweep found, every count said (issue 11: "5,000 checked, 5 drifted" hid 4,995
 * unreachable; "0 sites checked" is not good news). `kind` is how the notice should look.
 */
export function describeSweep(c) {
  if (!c) return { text: 'No verify has run since the dashboard started.', kind: 'warn' };
  if (c.checked === 0)
    return {
      text: c.no_version
        ? `No site was checked: no key version is desired for ${plural(c.no_version, 'site')}. Add keys first.`
        : 'No site was checked.',
      kind: 'warn',
    };
  const parts = [`${num(c.in_sync)} in sync`, `${num(c.drifted)} drifted`, `${num(c.unreachable)} unreachable`];
  if (c.errors) parts.push(`${num(c.errors)} with errors`);
  if (c.no_version) parts.push(`${num(c.no_version)} without a key version`);
  const bad = c.drifted + c.unreachable + c.errors + c.no_version;
  return { text: `${plural(c.checked, 'site')} checked: ${parts.join(', ')}.`, kind: bad ? 'warn' : 'ok' };
}

/** `onSwept()` reloads the sites (also now and then while a sweep runs); `infoEl` says what the verify did. */
export function watchVerify({ infoEl, onSwept }) {
  let lastSweep;
  let stopped = false;
  let timer = null;
  let lastReload = 0;

  function show(status) {
    const parts = [];
    const p = status.progress;
    if (status.running && p)
      parts.push(
        `Verifying: ${num(p.checked + p.no_version)} of ${plural(p.total, 'site')} done — ${num(p.drifted)} drifted, ${num(p.unreachable)} unreachable so far…`,
      );
    else if (status.running) parts.push('Verifying now…');
    else if (status.last_finished_at)
      parts.push(`Last verify ${ago(status.last_finished_at)}: ${describeSweep(status.last).text}`);
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
      next = status.running ? RUNNING_POLL_MS : pollMs(status.interval_s || 30);
      const changed = lastSweep !== undefined && status.last_finished_at !== lastSweep;
      lastSweep = status.last_finished_at;
      if (changed) await onSwept(status);
      else if (status.running && Date.now() - lastReload >= RUNNING_RELOAD_MS) {
        // The tiles and rows follow a long sweep as it goes.
        lastReload = Date.now();
        await onSwept(status);
      }
    } catch {
      // The next look tries again; a lost session shows the login by itself.
    }
    if (!stopped) timer = setTimeout(poll, next);
  }

  /**
   * Starts a sweep (of every site, or `scope`: `{ problem: 'unchecked' }`) and resolves with its
   * status once it has finished; `onProgress(status)` follows it.
   */
  async function verifyNow(scope = {}, onProgress = () => {}) {
    const started = await api(ROUTES.verify, { method: 'POST', body: scope });
    show(started);
    const before = started.running ? started.sweeps : started.sweeps - 1;
    const deadline = Date.now() + VERIFY_NOW_LIMIT_MS;
    let status = started;
    while (!stopped && (status.running || status.sweeps <= before) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, VERIFY_NOW_POLL_MS));
      status = await api(ROUTES.verify);
      show(status);
      if (status.running && Date.now() - lastReload >= RUNNING_RELOAD_MS) {
        lastReload = Date.now();
        await onProgress(status);
      }
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
