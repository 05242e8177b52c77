/**
 * Sites: the fleet with each site's live status (reachable, pk and sk as desired, mode, latency,
 * last checked), filtered by tag and by problem (the API's filters) and searched by name, URL or
 * tag, one page of rows at a time. Add, import, edit, remove; verify now; pick sites to push to.
 */
import { ROUTES, api } from '../api.js';
import { setPushDraft } from '../draft.js';
import { announce, field, h, replace, throttle } from '../dom.js';
import {
  asDesired,
  duration,
  modeBadge,
  num,
  plural,
  siteStatus,
  siteStatusBadge,
  timeAgo,
} from '../format.js';
import { createPager } from '../pager.js';
import { addSiteDialog, editSiteDialog, importDialog, removeSiteDialog } from './site-dialogs.js';

/** The API's problem filters, in the order the menu lists them. */
const PROBLEMS = [
  ['', 'All statuses'],
  ['any', 'Any problem'],
  ['drift', 'Drifted'],
  ['unreachable', 'Unreachable'],
  ['error', 'Error'],
  ['unchecked', 'Unchecked'],
  ['none', 'In sync'],
];
/** Summary tiles: status kind (format.siteStatus) → the problem filter that lists them. */
const TILES = [
  ['ok', 'In sync', 'none'],
  ['drifted', 'Drifted', 'drift'],
  ['unreachable', 'Unreachable', 'unreachable'],
  ['error', 'Errors', 'error'],
  ['unchecked', 'Unchecked', 'unchecked'],
];
const VERIFY_POLL_MS = 15_000;

// Kept while the operator moves between views.
const filters = { q: '', tag: '', problem: '' };
const selected = new Set();

export async function render(container, ctx) {
  ctx.setTitle('Sites');
  let all = [];
  let shown = [];
  let lastSweep;
  let stopped = false;

  const notice = h('div', { class: 'notice-area', role: 'status' });
  const summary = h('div', { class: 'tiles', role: 'group', 'aria-label': 'Filter by status' });
  const verifyInfo = h('p', { class: 'muted verify-info' });
  const search = h('input', {
    type: 'search',
    value: filters.q,
    placeholder: 'Name, URL or tag',
    autocomplete: 'off',
  });
  const tagSelect = h('select', {});
  const problemSelect = h(
    'select',
    {},
    PROBLEMS.map(([v, l]) => h('option', { value: v, selected: v === filters.problem }, l)),
  );
  const verifyButton = h('button', { type: 'button', onclick: () => guard(verifyNow) }, 'Verify now');
  const reconcileButton = h('button', { type: 'button', onclick: reconcile }, 'Reconcile drifted');
  const pushSelected = h(
    'button',
    { type: 'button', class: 'primary', onclick: pushToSelected },
    'Push to selected',
  );
  const selectPage = h('input', {
    type: 'checkbox',
    'aria-label': 'Select every site on this page',
    onchange: togglePage,
  });
  const tbody = h('tbody', {});
  const caption = h('caption', { class: 'sr-only' });
  const pager = createPager({ label: 'Sites', onChange: renderRows });

  container.append(
    h(
      'div',
      { class: 'view-head' },
      h('h1', { tabindex: '-1' }, 'Sites'),
      h(
        'div',
        { class: 'head-actions' },
        h('button', { type: 'button', onclick: () => guard(add) }, 'Add site'),
        h('button', { type: 'button', onclick: () => guard(importSites) }, 'Import sites'),
        verifyButton,
      ),
    ),
    notice,
    summary,
    verifyInfo,
    h(
      'div',
      { class: 'toolbar', role: 'search', 'aria-label': 'Sites' },
      field('Search', search),
      field('Tag', tagSelect),
      field('Status', problemSelect),
      h('div', { class: 'toolbar-actions' }, reconcileButton, pushSelected),
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'data sites-table' },
        caption,
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', class: 'check' }, selectPage),
            [
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
            ].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        tbody,
      ),
    ),
    pager.el,
  );

  const onSearch = throttle(() => {
    filters.q = search.value.trim();
    pager.reset();
    renderRows();
  }, 150);
  search.addEventListener('input', onSearch);
  tagSelect.addEventListener('change', () => {
    filters.tag = tagSelect.value;
    void guard(loadFiltered);
  });
  problemSelect.addEventListener('change', () => {
    filters.problem = problemSelect.value;
    renderSummary();
    void guard(loadFiltered);
  });

  async function load() {
    const data = await api(ROUTES.sites);
    all = data.sites;
    const ids = new Set(all.map((s) => s.id));
    for (const id of selected) if (!ids.has(id)) selected.delete(id);
    renderSummary();
    renderTags();
    await loadFiltered(true);
  }

  async function loadFiltered(haveAll = false) {
    pager.reset();
    if (!filters.tag && !filters.problem) shown = all;
    else {
      const data = await api(ROUTES.sites, {
        query: { tag: filters.tag ? [filters.tag] : undefined, problem: filters.problem || undefined },
      });
      shown = data.sites;
    }
    if (!haveAll) renderSummary();
    renderRows();
  }

  function renderSummary() {
    const counts = { ok: 0, drifted: 0, unreachable: 0, error: 0, unchecked: 0 };
    for (const s of all) counts[siteStatus(s).kind] += 1;
    const tile = (kind, label, problem, count) =>
      h(
        'button',
        {
          type: 'button',
          class: `tile tile-${kind}`,
          'aria-pressed': String(filters.problem === problem),
          onclick: () => {
            filters.problem = filters.problem === problem ? '' : problem;
            problemSelect.value = filters.problem;
            renderSummary();
            void guard(loadFiltered);
          },
        },
        h('span', { class: 'tile-count' }, num(count)),
        h('span', { class: 'tile-label' }, label),
      );
    replace(
      summary,
      tile('all', 'Sites', '', all.length),
      TILES.map(([kind, label, problem]) => tile(kind, label, problem, counts[kind])),
    );
    reconcileButton.disabled = counts.drifted === 0;
    replace(
      reconcileButton,
      counts.drifted ? `Reconcile ${plural(counts.drifted, 'drifted site')}` : 'Reconcile drifted',
    );
  }

  function renderTags() {
    const tags = new Map();
    for (const s of all) for (const t of s.tags) tags.set(t, (tags.get(t) ?? 0) + 1);
    if (filters.tag && !tags.has(filters.tag)) filters.tag = '';
    replace(
      tagSelect,
      h('option', { value: '' }, 'All tags'),
      [...tags.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([t, n]) => h('option', { value: t, selected: t === filters.tag }, `${t} (${num(n)})`)),
    );
  }

  function matching() {
    const q = filters.q.toLowerCase();
    if (!q) return shown;
    return shown.filter(
      (s) =>
        s.name.toLowerCase().includes(q) ||
        s.url.toLowerCase().includes(q) ||
        s.id.toLowerCase() === q ||
        s.tags.some((t) => t.toLowerCase().includes(q)),
    );
  }

  function renderRows() {
    const rows = matching();
    pager.setTotal(rows.length);
    const page = pager.slice(rows);
    replace(caption, `Sites: ${num(rows.length)} matching`);
    if (all.length === 0) {
      replace(tbody, emptyRow('No sites yet. Import your sites file or YAML inventory, or add a site.'));
    } else if (page.length === 0) {
      replace(tbody, emptyRow('No site matches these filters.'));
    } else replace(tbody, page.map(row));
    selectPage.checked = page.length > 0 && page.every((s) => selected.has(s.id));
    renderSelection();
  }

  const emptyRow = (text) => h('tr', {}, h('td', { colspan: 11, class: 'empty' }, text));

  function row(s) {
    const hl = s.health;
    const check = h('input', {
      type: 'checkbox',
      checked: selected.has(s.id),
      'aria-label': `Select ${s.name}`,
      onchange: (e) => {
        if (e.target.checked) selected.add(s.id);
        else selected.delete(s.id);
        renderSelection();
      },
    });
    const status = siteStatus(s);
    return h(
      'tr',
      { class: `row-${status.kind}`, dataset: { site: s.id } },
      h('td', { class: 'check' }, check),
      h(
        'th',
        { scope: 'row', class: 'site-cell' },
        h('span', { class: 'site-name' }, s.name),
        s.has_api_key
          ? h(
              'span',
              { class: 'badge badge-neutral small', title: 'This site has its own API key' },
              'own key',
            )
          : null,
        h('span', { class: 'site-url' }, s.url),
      ),
      h(
        'td',
        {},
        s.tags.map((t) => h('span', { class: 'tag' }, t)),
      ),
      h('td', {}, siteStatusBadge(s)),
      h('td', {}, asDesired(hl?.pk_as_desired ?? null, 'Publishable key')),
      h('td', {}, asDesired(hl?.sk_as_desired ?? null, 'Secret key fingerprint')),
      h('td', {}, modeBadge(hl?.mode ?? null)),
      h(
        'td',
        { class: 'num' },
        hl?.latency_ms === null || hl?.latency_ms === undefined ? '—' : duration(hl.latency_ms),
      ),
      h('td', {}, timeAgo(hl?.checked_at)),
      h(
        'td',
        {},
        s.desired.version_id ?? h('span', { class: 'muted' }, 'none'),
        s.desired.source && s.desired.source !== 'fleet'
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
        h(
          'button',
          {
            type: 'button',
            class: 'small',
            'aria-label': `Edit ${s.name}`,
            onclick: () => guard(() => edit(s)),
          },
          'Edit',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'small danger-ghost',
            'aria-label': `Remove ${s.name}`,
            onclick: () => guard(() => remove(s)),
          },
          'Remove',
        ),
      ),
    );
  }

  function renderSelection() {
    pushSelected.disabled = selected.size === 0;
    replace(
      pushSelected,
      selected.size ? `Push to ${plural(selected.size, 'selected site')}` : 'Push to selected',
    );
  }

  function togglePage() {
    for (const s of pager.slice(matching())) {
      if (selectPage.checked) selected.add(s.id);
      else selected.delete(s.id);
    }
    renderRows();
  }

  /** Runs an action; what goes wrong is said on the page rather than lost in the console. */
  async function guard(fn) {
    try {
      await fn();
    } catch (err) {
      say(err.message, 'bad');
    }
  }

  function say(text, kind = 'ok') {
    replace(notice, h('p', { class: `notice notice-${kind}` }, text));
    announce(text);
  }

  async function add() {
    const res = await addSiteDialog();
    if (!res) return;
    await load();
    say(`Added ${res.site.name} (${res.site.url}).`);
  }

  async function importSites() {
    const res = await importDialog();
    if (!res) return;
    await load();
    const lines = [`Imported ${plural(res.added.length, 'site')}.`];
    if (res.skipped.length)
      lines.push(
        `Skipped ${num(res.skipped.length)}: ${res.skipped
          .slice(0, 5)
          .map((s) => `${s.url} (${s.reason})`)
          .join('; ')}${res.skipped.length > 5 ? '; …' : ''}`,
      );
    for (const w of res.warnings.slice(0, 5)) lines.push(`Warning: ${w}`);
    replace(
      notice,
      h(
        'div',
        { class: `notice ${res.skipped.length || res.warnings.length ? 'notice-warn' : 'notice-ok'}` },
        lines.map((l) => h('p', {}, l)),
      ),
    );
    announce(lines[0]);
  }

  async function edit(site) {
    const { versions } = await api(ROUTES.keys);
    const res = await editSiteDialog(site, versions);
    if (!res) return;
    await load();
    say(`Saved ${res.site.name}.`);
  }

  async function remove(site) {
    const res = await removeSiteDialog(site);
    if (!res) return;
    selected.delete(site.id);
    await load();
    say(`Removed ${site.name}.`);
    search.focus();
  }

  function reconcile() {
    setPushDraft({
      driftedOnly: true,
      note: 'Reconcile: only the sites that drifted from their desired key version.',
    });
    ctx.navigate('#/push');
  }

  function pushToSelected() {
    const ids = all.filter((s) => selected.has(s.id)).map((s) => s.id);
    setPushDraft({ sites: ids, note: `${plural(ids.length, 'site')} picked on the Sites page.` });
    ctx.navigate('#/push');
  }

  function showVerify(status) {
    const parts = [];
    if (status.running) parts.push('Verifying every site now…');
    else if (status.last_finished_at)
      parts.push(
        `Last verify ${timeAgo(status.last_finished_at).textContent}: ${plural(status.last_checked, 'site')} checked, ${num(status.last_drifted)} drifted.`,
      );
    else parts.push('No verify has run since the dashboard started.');
    parts.push(
      status.interval_s > 0
        ? `Every site is verified every ${status.interval_s} s.`
        : 'Periodic verify is off.',
    );
    replace(verifyInfo, parts.join(' '));
  }

  /** Reloads when a verify sweep (periodic or asked for) finished since the last look. */
  async function pollVerify() {
    if (stopped) return;
    try {
      const status = await api(ROUTES.verify);
      showVerify(status);
      if (lastSweep !== undefined && status.last_finished_at !== lastSweep) await load();
      lastSweep = status.last_finished_at;
      return status;
    } catch {
      return undefined;
    }
  }

  async function verifyNow() {
    verifyButton.disabled = true;
    replace(verifyButton, 'Verifying…');
    try {
      const started = await api(ROUTES.verify, { method: 'POST', body: {} });
      showVerify(started);
      const before = started.running ? started.sweeps : started.sweeps - 1;
      const deadline = Date.now() + 10 * 60_000;
      let status = started;
      while (!stopped && (status.running || status.sweeps <= before) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        status = await api(ROUTES.verify);
      }
      if (stopped) return;
      showVerify(status);
      lastSweep = status.last_finished_at;
      await load();
      say(
        `Verify finished: ${plural(status.last_checked, 'site')} checked, ${num(status.last_drifted)} drifted.`,
        status.last_drifted ? 'warn' : 'ok',
      );
    } finally {
      verifyButton.disabled = false;
      replace(verifyButton, 'Verify now');
    }
  }

  await load();
  await pollVerify();
  const timer = setInterval(pollVerify, VERIFY_POLL_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
    onSearch.cancel();
  };
}
