/**
 * Start a push: choose all sites, some tags or some sites (and optionally only the drifted ones:
 * reconcile), then preview it. The preview is a dry run whose per-site changes the run view shows;
 * confirming it pushes to exactly those sites with exactly those key versions. Runs that are still
 * going or were interrupted are listed here too, with Resume.
 */
import { ROUTES, api, sitesByRef } from '../api.js';
import { splitSites, takePushDraft } from '../draft.js';
import { announce, field, h, replace } from '../dom.js';
import { num, plural, runKind, runOutcomeBadge, timeAgo } from '../format.js';
import { resumeRun } from './run-actions.js';

export async function render(container, ctx) {
  ctx.setTitle('Push');
  const draft = takePushDraft();
  // The fleet's counts (tags, all sites) and the names of the sites picked on the Sites page: never
  // the list of every site.
  const [{ summary, total }, picked, keys, { runs }] = await Promise.all([
    api(ROUTES.sites, { query: { summary: true, limit: 1 } }),
    sitesByRef(draft.sites),
    api(ROUTES.keys),
    api(ROUTES.runs, { query: { limit: 50 } }),
  ]);
  const tagCounts = new Map(Object.entries(summary.tags));
  const byId = new Map(picked.map((s) => [s.id, s]));

  const scope = draft.sites.length ? 'sites' : 'all';
  const radio = (value, text) =>
    h(
      'label',
      { class: 'inline' },
      h('input', { type: 'radio', name: 'scope', value, checked: value === scope }),
      ' ',
      text,
    );
  const tagBoxes = [...tagCounts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([t, n]) =>
      h(
        'label',
        { class: 'inline tag-choice' },
        h('input', { type: 'checkbox', name: 'tags', value: t, checked: draft.tags.includes(t) }),
        ' ',
        h('span', { class: 'tag' }, t),
        ` ${num(n)}`,
      ),
    );
  const siteList = h('textarea', {
    name: 'sites',
    rows: 3,
    spellcheck: 'false',
    placeholder: 'shop1, shop2.example.com, s_abc123…',
    value: draft.sites.map((id) => byId.get(id)?.name ?? id).join(', '),
  });
  const driftedOnly = h('input', { type: 'checkbox', name: 'drifted_only', checked: draft.driftedOnly });
  const canary = h('input', { type: 'number', name: 'canary', min: 0, max: 1000, value: 1, class: 'narrow' });
  const maxFailures = h('input', {
    name: 'max_failures',
    value: '10%',
    class: 'narrow',
    autocomplete: 'off',
  });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Preview changes');
  const noKeys = keys.desired.fleet === null && Object.keys(keys.desired.tags).length === 0;

  const form = h(
    'form',
    { class: 'panel stack', novalidate: true, 'aria-labelledby': 'push-form-h' },
    h('h2', { id: 'push-form-h' }, 'New push'),
    draft.note ? h('p', { class: 'notice notice-info' }, draft.note) : null,
    noKeys
      ? h(
          'p',
          { class: 'notice notice-warn' },
          'No key version is desired yet. ',
          h('a', { href: '#/keys' }, 'Add one in the key vault'),
          ' first.',
        )
      : null,
    h(
      'p',
      { class: 'muted' },
      'Each site gets the key version it should hold: ',
      keys.desired.fleet ? `${keys.desired.fleet} (fleet default)` : 'no fleet default',
      Object.entries(keys.desired.tags).map(([t, v]) => `, ${v} for tag ${t}`),
      '. Nothing is written until you confirm the preview.',
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Sites'),
      radio('all', `All sites (${num(total)})`),
      radio('tags', 'Sites with these tags:'),
      h(
        'div',
        { class: 'tag-choices', role: 'group', 'aria-label': 'Tags' },
        tagBoxes.length ? tagBoxes : h('span', { class: 'muted' }, 'No site has a tag.'),
      ),
      radio('sites', 'These sites (names, ids or URLs):'),
      field('Sites to push to', siteList),
    ),
    h(
      'label',
      { class: 'inline' },
      driftedOnly,
      ' Only sites that drifted from their desired version, or were never checked (reconcile)',
    ),
    h(
      'fieldset',
      { class: 'row' },
      h('legend', {}, 'Safety'),
      field('Canary sites', canary, 'Pushed and verified first; the run stops if one fails.'),
      field(
        'Max failures',
        maxFailures,
        'A count (5) or a share (10%) of the sites. The preview checks every site whatever this says; you confirm the budget of the push itself before it starts.',
      ),
    ),
    error,
    h('div', { class: 'actions' }, submit),
  );
  // Typing in a scope's own inputs selects that scope.
  siteList.addEventListener('input', () => (form.elements.scope.value = 'sites'));
  for (const box of form.querySelectorAll('input[name="tags"]'))
    box.addEventListener('change', () => (form.elements.scope.value = 'tags'));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const body = {
      dry_run: true,
      drifted_only: driftedOnly.checked,
      canary: Number(canary.value || 0),
      max_failures: maxFailures.value.trim() || '10%',
    };
    const chosen = form.elements.scope.value;
    if (chosen === 'tags') {
      body.tags = [...form.querySelectorAll('input[name="tags"]:checked')].map((b) => b.value);
      if (!body.tags.length) return fail('Tick at least one tag.');
    } else if (chosen === 'sites') {
      body.sites = splitSites(siteList.value);
      if (!body.sites.length) return fail('Name at least one site.');
    }
    submit.disabled = true;
    replace(submit, 'Starting the preview…');
    try {
      const res = await api(ROUTES.runs, { method: 'POST', body });
      announce(`Preview started over ${plural(res.sites, 'site')}.`);
      ctx.navigate(`#/runs/${encodeURIComponent(res.run_id)}`);
    } catch (err) {
      fail(
        err.code === 'no_sites_selected' && body.drifted_only
          ? 'No selected site has drifted: nothing to reconcile.'
          : err.message,
      );
    } finally {
      submit.disabled = false;
      replace(submit, 'Preview changes');
    }
  });

  function fail(text) {
    error.textContent = text;
  }

  const open = runs.filter(
    (r) => r.active || r.state === 'running' || r.state === 'interrupted' || r.state === 'cancelled',
  );
  const openPanel = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'open-runs-h' },
    h('h2', { id: 'open-runs-h' }, 'Running and interrupted runs'),
    open.length
      ? h(
          'ul',
          { class: 'run-list' },
          open.map((r) =>
            h(
              'li',
              {},
              h('a', { href: `#/runs/${encodeURIComponent(r.id)}` }, r.id),
              ' ',
              runOutcomeBadge(r),
              ` ${runKind(r)} · ${num(r.summary.ok + r.summary.unchanged + r.summary.failed + r.summary.skipped)} of ${plural(r.summary.total, 'site')} done · started `,
              timeAgo(r.started_at),
              !r.active && (r.state === 'interrupted' || r.state === 'cancelled')
                ? h(
                    'button',
                    {
                      type: 'button',
                      class: 'small primary',
                      'aria-label': `Resume run ${r.id}`,
                      onclick: (e) => resumeRun(r.id, ctx, error, e.currentTarget),
                    },
                    'Resume',
                  )
                : null,
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'None. Past runs are in ', h('a', { href: '#/history' }, 'History'), '.'),
  );

  container.append(
    h('div', { class: 'view-head' }, h('h1', { tabindex: '-1' }, 'Push keys')),
    h('div', { class: 'columns wide-left' }, form, openPanel),
  );
}
