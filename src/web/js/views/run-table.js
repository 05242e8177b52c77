/**
 * One site's line in a run: its result, what changed (or would change, in a preview) — from what it
 * held before to the run's key, both masked — whether it verified, and the error with its fix.
 */
import { h } from '../dom.js';
import { KEY_SETTINGS, SETTING_LABELS, duration, masked, num, siteResultBadge } from '../format.js';

export const runColumns = (dryRun) => [
  'Site',
  'Result',
  dryRun ? 'Would change' : 'Changed',
  'Verified',
  'Attempts',
  'Time',
  'Error',
];

const KEY_NAME_OF = Object.fromEntries(
  Object.entries(KEY_SETTINGS).map(([name, setting]) => [setting, name]),
);

/** What the site held before, masked: a public value as prefix…last4, a secret by its fingerprint. */
function before(r, setting) {
  const b = r.before;
  if (!b) return null;
  const value =
    setting === 'stripe_publishable_key'
      ? b.publishable_key
      : setting === 'stripe_price_id'
        ? b.price_id
        : undefined;
  if (value !== undefined)
    return value ? `${/^[a-z]+_(test_|live_)?/.exec(value)?.[0] ?? ''}…${value.slice(-4)}` : 'none';
  const fp = b.fingerprints?.[setting];
  return fp ? `fp ${fp}` : 'none';
}

/**
 * `version`: the vault version the run pushed (null when unknown); `target`: the version the site
 * should hold now — another one when a tag override or a pin applies to it.
 */
function changes(r, version, target) {
  if (!r.changes?.length)
    return r.status === 'pending'
      ? ''
      : h('span', { class: 'muted' }, r.status === 'unchanged' ? 'nothing' : '—');
  const other = target && version && target !== version.id;
  return h(
    'ul',
    { class: 'changes' },
    r.changes.map((setting) => {
      const k = !other && version ? version.keys[KEY_NAME_OF[setting]] : null;
      const from = before(r, setting);
      return h(
        'li',
        { dataset: { setting } },
        h('span', { class: 'change-name' }, SETTING_LABELS[setting] ?? setting),
        ': ',
        from ? [h('code', { class: 'from' }, from), ' → '] : null,
        k
          ? h('code', { class: 'to', title: `fp ${k.fingerprint}` }, masked(k))
          : other
            ? h('span', { class: 'to' }, target)
            : null,
      );
    }),
  );
}

const SETTING_SHORT = { stripe_secret_key: 'sk', stripe_webhook_secret: 'webhook', stripe_publishable_key: 'pk', stripe_price_id: 'price' };

export function runRow(r, { site, version, dryRun }) {
  const done = r.status !== 'pending';
  return h(
    'tr',
    { class: `result-${r.status}`, dataset: { url: r.url } },
    h(
      'th',
      { scope: 'row', class: 'site-cell' },
      h('span', { class: 'site-name' }, site?.name ?? r.url),
      site ? h('span', { class: 'site-url' }, r.url) : null,
      r.worker ? h('span', { class: 'site-worker muted', title: 'worked by' }, r.worker) : null,
      // Issue 9: a site of the original template proves less; say so on its row.
      r.protocol === 'seed' ? h('span', { class: 'muted block', title: 'the original template (seed protocol)' }, 'seed template') : null,
    ),
    h('td', {}, siteResultBadge(r.status, dryRun)),
    h('td', {}, changes(r, version, site?.desired.version_id)),
    h(
      'td',
      {},
      !done ? '' : r.verified ? h('span', { class: 'yes' }, '✓') : h('span', { class: 'muted', title: r.pending_proof ?? '' }, r.pending_proof ? 'not yet' : '—'),
      r.unverifiable?.length ? h('span', { class: 'muted block', title: r.unverifiable[0].reason }, `${r.unverifiable.map((u) => SETTING_SHORT[u.setting] ?? u.setting).join(', ')} written, unverifiable`) : null,
    ),
    h('td', { class: 'num' }, done ? num(r.attempts) : ''),
    h('td', { class: 'num' }, done ? duration(r.duration_ms) : ''),
    h(
      'td',
      {},
      r.error
        ? h(
            'div',
            { class: 'site-error' },
            h('code', {}, r.error.code),
            ' ',
            r.error.message,
            r.error.hint ? h('span', { class: 'hint block' }, r.error.hint) : null,
          )
        : '',
    ),
  );
}
