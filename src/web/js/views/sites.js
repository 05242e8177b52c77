/**
 * Sites: the fleet with each site's live status, one page at a time from the server — the search
 * (`q`: name or URL), the tag and status filters and the page all go to the API, which answers one
 * page, the count of every match, and the fleet's counts for the tiles and the tag menu. Only one
 * page of sites is ever fetched or in the DOM. Add, import, edit, remove; verify now; pick sites to
 * push to, or reconcile the drifted ones.
 */
import { ROUTES, api } from '../api.js';
import { setPushDraft } from '../draft.js';
import { announce, field, h, replace, throttle } from '../dom.js';
import { num, plural } from '../format.js';
import { createPager } from '../pager.js';
import { bulkBar } from './site-bulk.js';
import { addSiteDialog, editSiteDialog, importDialog, removeSiteDialog } from './site-dialogs.js';
import { SITE_COLUMNS, emptyRow, renderTiles, siteRow } from './site-row.js';
import { describeSweep, watchVerify } from './verify-watch.js';

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

// Kept while the operator moves between views.
const filters = { q: '', tag: '', problem: '', sort: 'added' };
const selected = new Set();

export async function render(container, ctx) {
  ctx.setTitle('Sites');
  /** The page on screen: its sites and the count of every match. */
  let page = { sites: [], total: 0 };
  /** Fleet-wide: sites per status kind (the tiles) and per tag (the tag menu). */
  let summary = { statuses: { all: 0 }, tags: {} };
  /** The request in flight: a newer one (typing, paging) aborts it. */
  let inflight = null;

  const notice = h('div', { class: 'notice-area', role: 'status' });
  const tiles = h('div', { class: 'tiles', role: 'group', 'aria-label': 'Filter by status' });
  const verifyInfo = h('p', { class: 'muted verify-info' });
  const search = h('input', {
    type: 'search',
    value: filters.q,
    placeholder: 'Name or URL',
    autocomplete: 'off',
  });
  const tagSelect = h('select', {});
  const problemSelect = h(
    'select',
    {},
    PROBLEMS.map(([v, l]) => h('option', { value: v, selected: v === filters.problem }, l)),
  );
  const sortSelect = h(
    'select',
    {},
    [
      ['added', 'Order added'],
      ['problems', 'Problems first'],
    ].map(([v, l]) => h('option', { value: v, selected: v === filters.sort }, l)),
  );
  const verifyButton = h('button', { type: 'button', onclick: () => guard(() => verifyNow()) }, 'Verify now');
  // Imported sites stay Unchecked until a sweep reaches them: offer to read just those now.
  const verifyUnchecked = h(
    'button',
    { type: 'button', hidden: true, onclick: () => guard(() => verifyNow({ problem: 'unchecked' })) },
    'Verify unchecked sites now',
  );
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
  const pager = createPager({ label: 'Sites', onChange: () => guard(load) });
  const verify = watchVerify({ infoEl: verifyInfo, onSwept: () => load() });
  const bulk = bulkBar({
    state: () => ({ filters, total: page.total }),
    say,
    reload: () => load(),
    navigate: (hash) => ctx.navigate(hash),
  });

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
    tiles,
    h('div', { class: 'verify-line' }, verifyInfo, verifyUnchecked),
    h(
      'div',
      { class: 'toolbar', role: 'search', 'aria-label': 'Sites' },
      field('Search', search),
      field('Tag', tagSelect),
      field('Status', problemSelect),
      field('Sort', sortSelect),
      h('div', { class: 'toolbar-actions' }, reconcileButton, pushSelected),
    ),
    bulk.el,
    pager.top,
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
            SITE_COLUMNS.map((c) => h('th', { scope: 'col' }, c)),
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
    void guard(load);
  }, 150);
  search.addEventListener('input', onSearch);
  tagSelect.addEventListener('change', () => {
    filters.tag = tagSelect.value;
    pager.reset();
    void guard(load);
  });
  problemSelect.addEventListener('change', () => pickProblem(problemSelect.value));
  sortSelect.addEventListener('change', () => {
    filters.sort = sortSelect.value;
    pager.reset();
    void guard(load);
  });

  /** The current page under the current filters, with the fleet's counts. */
  async function load() {
    inflight?.abort();
    const request = new AbortController();
    inflight = request;
    const { limit, offset } = pager.window();
    let res;
    try {
      res = await api(ROUTES.sites, {
        query: {
          q: filters.q,
          tag: filters.tag ? [filters.tag] : undefined,
          problem: filters.problem,
          sort: filters.sort === 'added' ? undefined : filters.sort,
          limit,
          offset,
          summary: true,
        },
        signal: request.signal,
      });
    } catch (err) {
      if (err.name === 'AbortError') return;
      throw err;
    } finally {
      if (inflight === request) inflight = null;
    }
    if (request.signal.aborted) return;
    if (filters.tag && !(filters.tag in res.summary.tags)) {
      // The last site with this tag is gone: list every tag instead of an empty page.
      filters.tag = '';
      return load();
    }
    if (res.sites.length === 0 && res.total > 0 && offset > 0) {
      // The page no longer exists (sites were removed): show the last one that does.
      pager.setTotal(res.total);
      return load();
    }
    page = res;
    summary = res.summary;
    bulk.update();
    renderTags();
    renderSummary();
    renderRows();
  }

  function pickProblem(problem) {
    filters.problem = problem;
    problemSelect.value = problem;
    pager.reset();
    void guard(load);
  }

  function renderSummary() {
    const counts = renderTiles(tiles, summary.statuses, filters.problem, pickProblem);
    verifyUnchecked.hidden = counts.unchecked === 0;
    if (!verifyUnchecked.disabled)
      replace(verifyUnchecked, `Verify the ${plural(counts.unchecked, 'unchecked site')} now`);
    reconcileButton.disabled = counts.drifted === 0;
    replace(
      reconcileButton,
      counts.drifted ? `Reconcile ${plural(counts.drifted, 'drifted site')}` : 'Reconcile drifted',
    );
  }

  function renderTags() {
    replace(
      tagSelect,
      h('option', { value: '' }, 'All tags'),
      Object.entries(summary.tags)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([t, n]) => h('option', { value: t, selected: t === filters.tag }, `${t} (${num(n)})`)),
    );
  }

  function renderRows() {
    pager.setTotal(page.total);
    replace(caption, `Sites: ${num(page.total)} matching`);
    if (summary.statuses.all === 0)
      replace(tbody, emptyRow('No sites yet. Import your sites file or YAML inventory, or add a site.'));
    else if (page.sites.length === 0) replace(tbody, emptyRow('No site matches these filters.'));
    else
      replace(
        tbody,
        page.sites.map((s) =>
          siteRow(s, selected.has(s.id), {
            toggle: (on) => {
              if (on) selected.add(s.id);
              else selected.delete(s.id);
              renderSelection();
            },
            edit: () => guard(() => edit(s)),
            remove: () => guard(() => remove(s)),
            approve: () => guard(() => approve(s)),
          }),
        ),
      );
    selectPage.checked = page.sites.length > 0 && page.sites.every((s) => selected.has(s.id));
    renderSelection();
  }

  function renderSelection() {
    pushSelected.disabled = selected.size === 0;
    replace(
      pushSelected,
      selected.size ? `Push to ${plural(selected.size, 'selected site')}` : 'Push to selected',
    );
  }

  function togglePage() {
    for (const s of page.sites) {
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
    if (res.skipped.length) {
      const some = res.skipped.slice(0, 5).map((s) => `${s.url} (${s.reason})`);
      lines.push(
        `Skipped ${num(res.skipped.length)}: ${some.join('; ')}${res.skipped.length > 5 ? '; …' : ''}`,
      );
    }
    for (const w of res.warnings.slice(0, 5)) lines.push(`Warning: ${w}`);
    const kind = res.skipped.length || res.warnings.length ? 'notice-warn' : 'notice-ok';
    replace(
      notice,
      h(
        'div',
        { class: `notice ${kind}` },
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

  /** A site that registered itself receives keys only once approved (issue 12); the server pushes it then. */
  async function approve(site) {
    const res = await api(ROUTES.approveSite, { method: 'POST', params: { id: site.id }, body: {} });
    await load();
    say(`Approved ${site.name}. ${res.run_id ? 'A push to it has started.' : ''}`.trim());
  }

  function reconcile() {
    setPushDraft({
      driftedOnly: true,
      note: 'Reconcile: only the sites that drifted from their desired key version.',
    });
    ctx.navigate('#/push');
  }

  function pushToSelected() {
    const ids = [...selected];
    setPushDraft({ sites: ids, note: `${plural(ids.length, 'site')} picked on the Sites page.` });
    ctx.navigate('#/push');
  }

  async function verifyNow(scope = {}) {
    verifyButton.disabled = true;
    verifyUnchecked.disabled = true;
    replace(verifyButton, 'Verifying…');
    try {
      const status = await verify.verifyNow(scope, () => load());
      if (!status) return;
      await load();
      const { text, kind } = describeSweep(status.last);
      say(`Verify finished: ${text}`, kind);
    } finally {
      verifyButton.disabled = false;
      verifyUnchecked.disabled = false;
      replace(verifyButton, 'Verify now');
    }
  }

  await load();
  await verify.start();
  return () => {
    verify.stop();
    onSearch.cancel();
    inflight?.abort();
  };
}
