/**
 * The key vault: every version masked (mode, prefix…last4, fingerprint, created at/by), which
 * version the fleet and each tag should hold, a form for a new version, and — after a key change —
 * whether every site has been verified holding the new version: the moment the old key can be
 * rolled in Stripe. No key value is ever shown: the API never sends one.
 */
import { ROUTES, api } from '../api.js';
import { announce, field, h, replace } from '../dom.js';
import { KEY_SETTINGS, SETTING_LABELS, fmtTime, maskedKey } from '../format.js';
import { keyForm } from './key-form.js';
import { keyRollAdvice, keyRollCards } from './safe-to-roll.js';

const KEY_NAMES = Object.keys(KEY_SETTINGS);
const label = (name) => SETTING_LABELS[KEY_SETTINGS[name]] ?? name;

export async function render(container, ctx) {
  ctx.setTitle('Keys');
  const notice = h('div', { class: 'notice-area', role: 'status' });
  const safety = h('section', { class: 'panel', 'aria-labelledby': 'safety-h' });
  const desiredPanel = h('section', { class: 'panel', 'aria-labelledby': 'desired-h' });
  const versionsPanel = h('section', { class: 'panel', 'aria-labelledby': 'versions-h' });
  const formPanel = h('section', { class: 'panel', 'aria-labelledby': 'new-h' });
  container.append(
    h('div', { class: 'view-head' }, h('h1', { tabindex: '-1' }, 'Key vault')),
    notice,
    safety,
    versionsPanel,
    h('div', { class: 'columns' }, formPanel, desiredPanel),
  );

  let data;
  /** Per key: who wants it, who holds it (counted by the server, never the list of sites). */
  let advice;

  async function load() {
    [data, advice] = await Promise.all([api(ROUTES.keys), keyRollAdvice()]);
    renderSafety();
    renderDesired();
    renderVersions();
  }

  const say = (text, kind = 'ok') => {
    replace(notice, h('p', { class: `notice notice-${kind}` }, text));
    announce(text);
  };
  const guard = async (fn) => {
    try {
      await fn();
    } catch (err) {
      say(err.message, 'bad');
    }
  };

  function renderSafety() {
    // Keys that can be rolled, or cannot be told yet, first; keys in use after them.
    const order = { safe: 0, unknown: 1, in_use: 2 };
    const cards = keyRollCards([...advice].sort((a, b) => order[a.state] - order[b.state]));
    replace(
      safety,
      h('h2', { id: 'safety-h' }, 'Rolling old keys'),
      h(
        'p',
        { class: 'muted' },
        'One card per key. A key may be rolled in Stripe only when no site should hold it and no site was last seen holding it.',
      ),
      cards.length ? h('div', { class: 'safe-cards' }, cards) : h('p', { class: 'muted' }, 'The vault is empty: add a key version below.'),
    );
  }

  function versionSelect(selectedId, extra) {
    return h(
      'select',
      {},
      extra,
      data.versions.map((v) => h('option', { value: v.id, selected: v.id === selectedId }, v.id)),
    );
  }

  function renderDesired() {
    const { fleet, tags } = data.desired;
    const fleetSelect = versionSelect(fleet);
    const tagInput = h('input', { autocomplete: 'off', placeholder: 'eu' });
    const tagVersion = versionSelect(null);
    replace(
      desiredPanel,
      h('h2', { id: 'desired-h' }, 'Desired state'),
      h(
        'p',
        {},
        'Fleet default: ',
        fleet ? h('strong', { class: 'version' }, fleet) : h('span', { class: 'muted' }, 'none yet'),
      ),
      data.versions.length
        ? h(
            'form',
            {
              class: 'inline-form',
              onsubmit: (e) => (e.preventDefault(), guard(() => setDesired(fleetSelect.value))),
            },
            field('Fleet default version', fleetSelect),
            h('button', { type: 'submit' }, 'Set default'),
          )
        : null,
      h('h3', {}, 'Tag overrides'),
      Object.keys(tags).length
        ? h(
            'table',
            { class: 'data compact' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, 'Tag'),
                h('th', { scope: 'col' }, 'Version'),
                h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')),
              ),
            ),
            h(
              'tbody',
              {},
              Object.entries(tags).map(([tag, v]) =>
                h(
                  'tr',
                  {},
                  h('th', { scope: 'row' }, h('span', { class: 'tag' }, tag)),
                  h('td', {}, v),
                  h(
                    'td',
                    {},
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'small',
                        'aria-label': `Remove the override of tag ${tag}`,
                        onclick: () => guard(() => setDesired(null, tag)),
                      },
                      'Remove',
                    ),
                  ),
                ),
              ),
            ),
          )
        : h(
            'p',
            { class: 'muted' },
            'None: every site follows the fleet default (or its own pinned version).',
          ),
      data.versions.length
        ? h(
            'form',
            {
              class: 'inline-form',
              onsubmit: (e) => (
                e.preventDefault(),
                guard(() => setDesired(tagVersion.value, tagInput.value.trim()))
              ),
            },
            field('Tag', tagInput),
            field('Version', tagVersion),
            h('button', { type: 'submit' }, 'Set override'),
          )
        : null,
    );
  }

  async function setDesired(version, tag) {
    const body = tag === undefined ? { version } : { version, tag };
    if (tag !== undefined && !tag) throw new Error('Name the tag.');
    await api(ROUTES.desired, { method: 'PUT', body });
    await load();
    say(
      tag === undefined
        ? `The fleet default is now ${version}.`
        : version
          ? `Sites tagged ${tag} now want ${version}.`
          : `Removed the override of tag ${tag}.`,
    );
  }

  function renderVersions() {
    const rows = data.versions.map((v) =>
      h(
        'tr',
        { dataset: { version: v.id } },
        h(
          'th',
          { scope: 'row' },
          h('span', { class: 'version' }, v.id),
          v.id === data.desired.fleet
            ? h('span', { class: 'badge badge-info small' }, 'fleet default')
            : null,
        ),
        h(
          'td',
          {},
          fmtTime(v.created_at),
          h('span', { class: 'muted small block' }, `by ${v.created_by ?? 'unknown'}`),
        ),
        KEY_NAMES.map((n) => h('td', {}, maskedKey(v.keys[n]))),
        h(
          'td',
          {},
          v.safe_to_roll
            ? h('span', { class: 'yes' }, `✓ ${fmtTime(v.safe_to_roll.verified_at)}`)
            : h('span', { class: 'muted' }, 'not yet'),
        ),
      ),
    );
    replace(
      versionsPanel,
      h('h2', { id: 'versions-h' }, 'Versions'),
      rows.length
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'data versions-table' },
              h('caption', { class: 'sr-only' }, 'Key versions, newest first; keys masked'),
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Version', 'Created', ...KEY_NAMES.map(label), 'Verified on its sites'].map((c) =>
                    h('th', { scope: 'col' }, c),
                  ),
                ),
              ),
              h('tbody', {}, rows),
            ),
          )
        : h('p', { class: 'muted' }, 'The vault is empty.'),
    );
  }

  async function saved(res, tag, madeDefault) {
    await load();
    const scope = tag ? `the override of tag ${tag}` : 'the fleet default';
    if (!madeDefault) {
      replace(
        notice,
        h(
          'div',
          { class: 'notice notice-ok' },
          h('p', {}, `Saved ${res.version.id}. It is not desired by any site yet: set it under Desired state when ready.`),
          res.warnings.map((w) => h('p', { class: 'warn-text' }, `Warning: ${w}`)),
        ),
      );
      announce(`Saved key version ${res.version.id}.`);
      return;
    }
    replace(
      notice,
      h(
        'div',
        { class: 'notice notice-ok' },
        h(
          'p',
          {},
          `Saved ${res.version.id}: it is now ${scope}. Sites get it on the next push. `,
          h('a', { href: '#/push' }, 'Preview the push'),
        ),
        res.warnings.map((w) => h('p', { class: 'warn-text' }, `Warning: ${w}`)),
      ),
    );
    announce(`Saved key version ${res.version.id}.`);
  }

  replace(formPanel, h('h2', { id: 'new-h' }, 'Add a key version'), keyForm({ onSaved: saved }));
  await load();
}
