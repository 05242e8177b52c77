/**
 * Which old keys can be rolled (retired) in Stripe, reasoned about each key, never about a version
 * (issue 11): a key is safe only when no site wants it (fleet default, tag override, pin), no site
 * was last seen holding it, and every site was read. One card per key, so two cards can never
 * contradict each other. Counted by the server (`GET /api/admin/keys/roll`).
 */
import { ROUTES, api } from '../api.js';
import { h } from '../dom.js';
import { SETTING_LABELS, masked, num, plural } from '../format.js';

const LABEL_BY_NAME = {
  publishable_key: SETTING_LABELS.stripe_publishable_key,
  secret_key: SETTING_LABELS.stripe_secret_key,
  webhook_secret: SETTING_LABELS.stripe_webhook_secret,
  price_id: SETTING_LABELS.stripe_price_id,
};

/** Every key of every version with its verdict (`in_use` | `unknown` | `safe`). */
export async function keyRollAdvice() {
  return (await api(ROUTES.keyRoll)).keys;
}

const keyName = (k) =>
  `${(LABEL_BY_NAME[k.name] ?? k.name).toLowerCase()} ${masked(k)} (fp ${k.fingerprint}, ${k.versions.join(', ')})`;

function why(k) {
  const parts = [];
  if (k.wanted_by) parts.push(`${plural(k.wanted_by, 'site')} should hold it`);
  if (k.held_by) parts.push(`${plural(k.held_by, 'site')} ${k.held_by === 1 ? 'was' : 'were'} last seen holding it`);
  return parts.join(' and ');
}

function card(k, kind, title, ...text) {
  return h(
    'div',
    { class: `safe ${kind}`, dataset: { key: `${k.name}:${k.fingerprint}`, state: k.state } },
    h('strong', {}, title),
    h('p', {}, ...text),
  );
}

/** One card per key: green only when rolling it can break no site. */
export function keyRollCards(keys) {
  return keys.map((k) => {
    const name = keyName(k);
    if (k.state === 'safe')
      return card(
        k,
        'safe-yes',
        `Safe to roll the ${name}.`,
        'No site should hold it and every site was last seen holding another key. You can roll it in Stripe.',
      );
    if (k.state === 'unknown')
      return card(
        k,
        'safe-no',
        `Cannot tell yet for the ${name}.`,
        `No site should hold it and none was seen holding it, but ${plural(k.unknown, 'site')} ${k.unknown === 1 ? 'was' : 'were'} never read: ${k.unknown === 1 ? 'it' : 'they'} may still use it. Keep it active in Stripe; `,
        h('a', { href: '#/sites?problem=unchecked' }, 'verify or remove those sites'),
        '.',
      );
    return card(
      k,
      'safe-no safe-in-use',
      `In use: do not roll the ${name}.`,
      `${why(k)}. Rolling it in Stripe would break checkout on ${k.held_by > k.wanted_by ? num(k.held_by) : num(k.wanted_by)} ${Math.max(k.held_by, k.wanted_by) === 1 ? 'site' : 'sites'}.`,
    );
  });
}
