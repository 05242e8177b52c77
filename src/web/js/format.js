/**
 * How the UI shows values: keys only masked (prefix…last4 and fingerprint, never a value, which the
 * API never sends), times, counts, and each site's and run's status as a label plus a colour class.
 */
import { h } from './dom.js';

export const SETTING_LABELS = {
  stripe_publishable_key: 'Publishable key',
  stripe_secret_key: 'Secret key',
  stripe_webhook_secret: 'Webhook secret',
  stripe_price_id: 'Price id',
};
/** The API's key names (reports, key versions) → the setting they hold. */
export const KEY_SETTINGS = {
  publishable_key: 'stripe_publishable_key',
  secret_key: 'stripe_secret_key',
  webhook_secret: 'stripe_webhook_secret',
  price_id: 'stripe_price_id',
};

const numberFormat = new Intl.NumberFormat('en-US');
export const num = (n) => numberFormat.format(n);
export const plural = (n, one, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;

/** `2026-11-27 14:03:12` in the browser's time zone. */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function ago(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** A <time> showing "3 min ago" with the exact time on hover and for assistive tech. */
export function timeAgo(iso) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  return h('time', { datetime: iso, title: fmtTime(iso) }, ago(iso));
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** `pk_test_…a1b2`: the public prefix and the last four characters. */
export function masked(k) {
  if (!k) return '—';
  return `${k.prefix ?? ''}…${k.last4}`;
}

/** A masked key with its mode and fingerprint, as every table shows one. */
export function maskedKey(k) {
  if (!k) return h('span', { class: 'muted' }, '—');
  return h(
    'span',
    { class: 'key' },
    k.mode ? modeBadge(k.mode) : null,
    h('code', {}, masked(k)),
    h(
      'span',
      { class: 'fp', title: 'Fingerprint: first 16 hex characters of SHA-256' },
      `fp ${k.fingerprint}`,
    ),
  );
}

export function badge(kind, label, title) {
  return h('span', { class: `badge badge-${kind}`, title }, label);
}

export function modeBadge(mode) {
  if (mode === 'live') return badge('live', 'live');
  if (mode === 'test') return badge('test', 'test');
  return h('span', { class: 'muted' }, '—');
}

/**
 * One status per site for the badge and the summary: what its last check found. `problem` is the
 * catalog code when there is one.
 */
export function siteStatus(site) {
  const hl = site.health;
  if (!hl) return { kind: 'unchecked', label: 'Unchecked' };
  if (!hl.reachable) return { kind: 'unreachable', label: 'Unreachable', problem: hl.problem };
  if (hl.problem && hl.problem !== 'drift') return { kind: 'error', label: 'Error', problem: hl.problem };
  if (site.drift === 'drifted') return { kind: 'drifted', label: 'Drifted' };
  if (site.drift === 'in_sync') return { kind: 'ok', label: 'In sync' };
  return { kind: 'unchecked', label: 'No desired keys' };
}

const STATUS_CLASS = { ok: 'ok', drifted: 'warn', unreachable: 'bad', error: 'bad', unchecked: 'neutral' };

export function siteStatusBadge(site) {
  const s = siteStatus(site);
  return h(
    'span',
    { class: 'status-cell' },
    badge(STATUS_CLASS[s.kind], s.label),
    s.problem ? h('code', { class: 'problem' }, s.problem) : null,
  );
}

/** ✓ / ✗ / — for "is the site's key the desired one". */
export function asDesired(value, what, missing = false) {
  if (value === true) return h('span', { class: 'yes', title: `${what} as desired` }, '✓ as desired');
  // The site holds no value at all: not the same problem (or fix) as holding another key.
  if (value === false && missing)
    return h('span', { class: 'no', title: `The site holds no ${what.toLowerCase()}` }, '✗ missing');
  if (value === false)
    return h('span', { class: 'no', title: `${what} differs from the desired one` }, '✗ differs');
  return h('span', { class: 'muted', title: `${what} not checked` }, '—');
}

const RUN_STATES = {
  running: ['info', 'Running'],
  done: ['ok', 'Done'],
  halted: ['bad', 'Halted'],
  cancelled: ['warn', 'Cancelled'],
  interrupted: ['warn', 'Interrupted'],
};

export function runStateBadge(state) {
  const [kind, label] = RUN_STATES[state] ?? ['neutral', state];
  return badge(kind, label);
}

const OUTCOMES = {
  running: ['info', 'Running'],
  completed: ['ok', 'Done'],
  completed_with_failures: ['bad', 'Completed with failures'],
  preview_ready: ['ok', 'Preview ready'],
  preview_with_failures: ['warn', 'Preview: some sites failed'],
  halted: ['bad', 'Halted'],
  cancelled: ['warn', 'Cancelled'],
  interrupted: ['warn', 'Interrupted'],
  nothing_checked: ['warn', 'Nothing checked'],
};

/**
 * What a run came to (the API's `outcome`), never a green "Done" over failed sites (issue 11).
 * Falls back to the state for a run the API gave no outcome for.
 */
export function runOutcomeBadge(run) {
  if (run.active) return badge(...OUTCOMES.running);
  const o = OUTCOMES[run.outcome];
  return o ? badge(...o) : runStateBadge(run.state);
}

/** The outcome's words, for a heading. */
export const outcomeLabel = (outcome) => OUTCOMES[outcome]?.[1] ?? outcome;

const SITE_RESULTS = {
  pending: ['neutral', 'Pending'],
  ok: ['ok', 'Updated'],
  unchanged: ['ok-quiet', 'Unchanged'],
  failed: ['bad', 'Failed'],
  skipped: ['warn', 'Skipped'],
};

/** A site's result in a run; in a dry run `ok` means "would change". */
export function siteResultBadge(status, dryRun) {
  if (dryRun && status === 'ok') return badge('warn', 'Will change');
  if (dryRun && status === 'unchanged') return badge('ok-quiet', 'Up to date');
  const [kind, label] = SITE_RESULTS[status] ?? ['neutral', status];
  return badge(kind, label);
}

const TRIGGERS = {
  admin: 'Push',
  confirm: 'Confirmed push',
  retry_failed: 'Re-run of failed sites',
  reconcile: 'Reconcile',
  register: 'Site registration',
  cli: 'CLI',
};

export function runKind(run) {
  if (run.trigger === 'cli') return `CLI ${run.command}${run.dry_run ? ' (dry run)' : ''}`;
  const base = TRIGGERS[run.trigger] ?? run.trigger;
  return run.dry_run ? `Preview (${base === 'Push' ? 'dry run' : base.toLowerCase()})` : base;
}
