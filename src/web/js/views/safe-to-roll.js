/**
 * After a key change, the moment the old key can be rolled in Stripe: for each version some site
 * should hold, how many of those sites were verified holding it — and, once all were (the dashboard
 * records that moment), which old keys it replaced, masked. A site added or drifted since that
 * moment is said too: rolling the old key would break it.
 */
import { ROUTES, api } from '../api.js';
import { h } from '../dom.js';
import { KEY_SETTINGS, SETTING_LABELS, fmtTime, masked, num, plural } from '../format.js';

const KEY_NAMES = Object.keys(KEY_SETTINGS);

/**
 * Per version: how many sites should hold it, and how many were verified holding it — counted by
 * the server over the whole fleet (`GET /api/admin/sites?summary=true`, `summary.versions`).
 */
export function sitesByVersion(summary) {
  return new Map(
    Object.entries(summary?.versions ?? {}).map(([id, c]) => [id, { total: c.sites, inSync: c.in_sync }]),
  );
}

/** The fleet's counts, without listing it: one site at most comes with them. */
export async function fleetSummary() {
  return (await api(ROUTES.sites, { query: { summary: true, limit: 1 } })).summary;
}

/** `safe`: recorded and still true; `was-safe`: recorded, but a site lacks it now; `not-yet`. */
export function rollState(version, count) {
  if (!version.safe_to_roll) return 'not-yet';
  return count && count.inSync < count.total ? 'was-safe' : 'safe';
}

/** The keys version `v` changed compared with the version saved just before it (newest first). */
function changedFromPrevious(versions, v) {
  const previous = versions[versions.findIndex((x) => x.id === v.id) + 1];
  if (!previous) return [];
  return KEY_NAMES.filter(
    (n) => previous.keys[n] && v.keys[n]?.fingerprint !== previous.keys[n].fingerprint,
  ).map((n) => ({ name: n, before: previous.keys[n] }));
}

function card(v, kind, title, ...text) {
  return h(
    'div',
    { class: `safe ${kind}`, dataset: { version: v.id } },
    h('strong', {}, title),
    h('p', {}, ...text),
  );
}

/**
 * One card per desired version: safe (green), or not (amber, with the count and what to do).
 * `summary`: the fleet's counts (`fleetSummary()`).
 */
export function safeToRollCards(versions, summary) {
  const wanted = sitesByVersion(summary);
  return versions
    .filter((v) => wanted.has(v.id))
    .map((v) => {
      const c = wanted.get(v.id);
      const changed = changedFromPrevious(versions, v);
      const old = changed.length
        ? `the previous ${changed
            .map(
              (x) =>
                `${SETTING_LABELS[KEY_SETTINGS[x.name]].toLowerCase()} (${masked(x.before)}, fp ${x.before.fingerprint})`,
            )
            .join(', ')}`
        : 'the previous keys';
      const state = rollState(v, c);
      const at = v.safe_to_roll ? fmtTime(v.safe_to_roll.verified_at) : '';
      if (state === 'safe')
        return card(
          v,
          'safe-yes',
          `Safe to roll: ${v.id} is verified on every site.`,
          `All ${plural(v.safe_to_roll.sites, 'site')} were verified holding ${v.id} at ${at}. You can now roll ${old} in Stripe.`,
        );
      const missing = c.total - c.inSync;
      if (state === 'was-safe')
        return card(
          v,
          'safe-no',
          `Check before rolling: ${plural(missing, 'site')} not verified holding ${v.id}.`,
          `Every site had ${v.id} at ${at}, but ${num(missing)} of ${plural(c.total, 'site')} that should hold it now ${missing === 1 ? 'is' : 'are'} not verified (added or drifted since). Rolling ${old} in Stripe would break ${missing === 1 ? 'it' : 'them'}. `,
          h('a', { href: '#/sites' }, 'See the sites'),
          '.',
        );
      return card(
        v,
        'safe-no',
        `Not yet safe to roll: ${num(c.inSync)} of ${plural(c.total, 'site')} verified holding ${v.id}.`,
        `Keep ${old} active in Stripe until every site has ${v.id}. `,
        h('a', { href: '#/push' }, `Push ${v.id}`),
        ' or wait for the next verify.',
      );
    });
}
