/**
 * How the Sites table shows one site (its live status: reachable, pk and sk as desired, mode,
 * latency, last checked, desired version) and the status tiles above it.
 */
import { h, replace } from '../dom.js';
import { asDesired, duration, modeBadge, num, siteStatus, siteStatusBadge, timeAgo } from '../format.js';
import { doctorDialog } from './site-doctor.js';

export const SITE_COLUMNS = [
  'Site',
  'Tags',
  'Status',
  'Publishable key',
  'Secret key',
  'Mode',
  'Latency',
  'Last checked',
  'Desired',
  'Actions',
];

/** Summary tiles: status kind (format.siteStatus) → the API's problem filter that lists them. */
const TILES = [
  ['all', 'Sites', ''],
  ['ok', 'In sync', 'none'],
  ['drifted', 'Drifted', 'drift'],
  ['unreachable', 'Unreachable', 'unreachable'],
  ['error', 'Errors', 'error'],
  ['unchecked', 'Unchecked', 'unchecked'],
];

/**
 * The fleet's counts per status (the API's `summary.statuses`, counted by the server with the rules
 * of format.siteStatus); a tile is a toggle button for its filter. Returns the counts.
 */
export function renderTiles(el, statuses, activeProblem, onPick) {
  const counts = { all: 0, ok: 0, drifted: 0, unreachable: 0, error: 0, unchecked: 0, ...statuses };
  replace(
    el,
    TILES.map(([kind, label, problem]) =>
      h(
        'button',
        {
          type: 'button',
          class: `tile tile-${kind}`,
          'aria-pressed': String(activeProblem === problem),
          onclick: () => onPick(activeProblem === problem ? '' : problem),
        },
        h('span', { class: 'tile-count' }, num(counts[kind])),
        h('span', { class: 'tile-label' }, label),
      ),
    ),
  );
  return counts;
}

/** One row; `on` has `toggle(checked)`, `edit()`, `remove()`, `approve()` (a pending site). */
export function siteRow(s, selected, on) {
  const hl = s.health;
  const status = siteStatus(s);
  const button = (label, cls, action) =>
    h('button', { type: 'button', class: cls, 'aria-label': `${label} ${s.name}`, onclick: action }, label);
  return h(
    'tr',
    { class: `row-${status.kind}`, dataset: { site: s.id } },
    h(
      'td',
      { class: 'check' },
      h('input', {
        type: 'checkbox',
        checked: selected,
        'aria-label': `Select ${s.name}`,
        onchange: (e) => on.toggle(e.target.checked),
      }),
    ),
    h(
      'th',
      { scope: 'row', class: 'site-cell' },
      h('span', { class: 'site-name' }, s.name),
      s.has_api_key
        ? h('span', { class: 'badge badge-neutral small', title: 'This site has its own API key' }, 'own key')
        : null,
      s.approval === 'pending'
        ? h('span', { class: 'badge badge-warn small', title: 'Registered itself: receives nothing until approved' }, 'pending approval')
        : null,
      h('span', { class: 'site-url' }, s.url),
    ),
    h(
      'td',
      {},
      s.tags.map((t) => h('span', { class: 'tag' }, t)),
    ),
    h('td', {}, siteStatusBadge(s)),
    h('td', {}, asDesired(hl?.pk_as_desired ?? null, 'Publishable key', s.missing?.includes('stripe_publishable_key'))),
    h('td', {}, asDesired(hl?.sk_as_desired ?? null, 'Secret key', s.missing?.includes('stripe_secret_key'))),
    h('td', {}, modeBadge(hl?.mode ?? null)),
    h('td', { class: 'num' }, hl?.latency_ms == null ? '—' : duration(hl.latency_ms)),
    h('td', {}, timeAgo(hl?.checked_at)),
    h(
      'td',
      {},
      s.desired.version_id ?? h('span', { class: 'muted' }, 'none'),
      s.desired.source === 'tag' || s.desired.source === 'site'
        ? h(
            'span',
            { class: 'muted small' },
            s.desired.source === 'tag' ? ` (tag ${s.desired.tag})` : ' (pinned)',
          )
        : null,
    ),
    h(
      'td',
      { class: 'row-actions' },
      s.approval === 'pending' && on.approve ? button('Approve', 'small', on.approve) : null,
      button('Edit', 'small', on.edit),
      button('Doctor', 'small', () => doctorDialog(s)),
      button('Remove', 'small danger-ghost', on.remove),
    ),
  );
}

export const emptyRow = (text) =>
  h('tr', {}, h('td', { colspan: SITE_COLUMNS.length + 1, class: 'empty' }, text));
