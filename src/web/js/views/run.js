/**
 * One run: a preview (dry run: per site, masked, what would change) with Confirm; a push watched
 * live (server-sent events: each site as it finishes) to its recap; Re-run failed only; Resume for
 * a run the dashboard was stopped in the middle of. After a push, says whether its key version is
 * now verified on every site (safe to roll the old key in Stripe).
 */
import { ROUTES, api, followRun, sitesByRef } from '../api.js';
import { announce, h, openDialog, replace, throttle } from '../dom.js';
import {
  KEY_SETTINGS,
  SETTING_LABELS,
  fmtTime,
  maskedKey,
  num,
  plural,
  runKind,
  runOutcomeBadge,
} from '../format.js';
import { createPager } from '../pager.js';
import { failureGroupsPanel } from './run-failures.js';
import { recapOf } from './run-recap.js';
import { runColumns, runRow } from './run-table.js';

const FILTERS = [
  ['', 'All sites'],
  ['pending', 'Pending'],
  ['ok', 'Changed'],
  ['unchanged', 'Unchanged'],
  ['failed', 'Failed'],
  ['skipped', 'Skipped'],
];

export async function render(container, ctx) {
  const id = ctx.params[0];
  let [report, { versions }] = await Promise.all([api(ROUTES.run, { params: { id } }), api(ROUTES.keys)]);
  // The run's own report lists its sites by URL; their names and desired versions are fetched for
  // the rows on screen only (null: no longer in the fleet), never with the whole fleet.
  const siteByUrl = new Map();
  const rows = new Map(report.sites.map((s) => [s.url, s]));
  // The run records its keys masked; the vault version with the same fingerprints is the one it pushed.
  const runKeys = Object.entries(report.keys);
  const version = runKeys.length
    ? versions.find((v) => runKeys.every(([name, k]) => v.keys[name]?.fingerprint === k.fingerprint))
    : undefined;
  let phase = report.phase;
  let ended = !report.active;
  let filter = '';
  let stream = null;
  ctx.setTitle(`${report.dry_run ? 'Preview' : 'Run'} ${id}`);

  const heading = h('h1', { tabindex: '-1' });
  const meta = h('dl', { class: 'meta' });
  // Segmented: updated / unchanged / failed / skipped / pending, each its own colour and width.
  const SEGMENTS = report.dry_run
    ? [['ok', 'would change'], ['unchanged', 'up to date'], ['failed', 'failed'], ['skipped', 'skipped'], ['pending', 'pending']]
    : [['ok', 'updated'], ['unchanged', 'unchanged'], ['failed', 'failed'], ['skipped', 'skipped'], ['pending', 'pending']];
  const segments = new Map(SEGMENTS.map(([k, label]) => [k, h('span', { class: `seg seg-${k}`, title: label })]));
  const progress = h('div', { class: 'segbar', role: 'img', 'aria-label': 'Sites done' }, [...segments.values()]);
  const cancelButton = h('button', { type: 'button', class: 'danger', onclick: () => void cancelRun() }, 'Cancel run');
  const failures = h('div', { class: 'failures-area' });
  const counts = h('p', { class: 'counts' });
  const live = h('p', { class: 'sr-only', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const recap = h('section', { class: 'recap', 'aria-labelledby': 'recap-h', tabindex: '-1' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const filterSelect = h(
    'select',
    {
      'aria-label': 'Show',
      onchange: () => {
        filter = filterSelect.value;
        pager.reset();
        renderRows();
      },
    },
    FILTERS.map(([v, l]) => h('option', { value: v }, l)),
  );
  const tbody = h('tbody', {});
  const pager = createPager({ label: 'Sites', onChange: () => renderRows() });

  container.append(
    h('div', { class: 'view-head' }, heading, h('a', { href: '#/history', class: 'muted' }, '‹ All runs')),
    meta,
    h('section', { class: 'panel progress-panel', 'aria-label': 'Progress' }, progress, counts, live, h('div', { class: 'actions' }, cancelButton)),
    error,
    recap,
    failures,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'sites-h' },
      h(
        'div',
        { class: 'panel-head' },
        h('h2', { id: 'sites-h' }, report.dry_run ? 'What each site would change' : 'Sites'),
        filterSelect,
      ),
      pager.top,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data run-table' },
          h('caption', { class: 'sr-only' }, 'Per-site results; keys masked'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              runColumns(report.dry_run).map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          tbody,
        ),
      ),
      pager.el,
    ),
  );

  function tally() {
    const t = { pending: 0, ok: 0, unchanged: 0, failed: 0, skipped: 0 };
    for (const r of rows.values()) t[r.status] = (t[r.status] ?? 0) + 1;
    return t;
  }

  function renderHead() {
    replace(
      heading,
      `${runKind({ ...report, trigger: report.trigger })} `,
      h('span', { class: 'run-id' }, id),
    );
    const item = (term, ...value) => h('div', {}, h('dt', {}, term), h('dd', {}, ...value));
    replace(
      meta,
      item('State', runOutcomeBadge({ ...report, active: !ended })),
      item('Started', fmtTime(report.started_at)),
      item('Finished', fmtTime(report.finished_at)),
      report.of
        ? item(
            report.trigger === 'confirm' ? 'Confirms' : 'From run',
            h('a', { href: `#/runs/${encodeURIComponent(report.of)}` }, report.of),
          )
        : null,
      item(
        'Key version',
        version ? h('span', { class: 'version' }, version.id) : h('span', { class: 'muted' }, 'unknown'),
      ),
      Object.entries(report.keys).map(([name, k]) =>
        item(
          SETTING_LABELS[KEY_SETTINGS[name]] ?? name,
          maskedKey(version?.keys[name] ?? { ...k, prefix: null, mode: null }),
        ),
      ),
      // Issue 9: once per run, e.g. seed sites use a pushed secret only after a restart.
      (report.notes ?? []).map((note) => item('Note', note)),
    );
  }

  const announceProgress = throttle((text) => (live.textContent = text), 1500);

  function renderProgress() {
    const t = tally();
    const total = rows.size;
    const done = total - t.pending;
    for (const [k, el] of segments) {
      // CSSOM, not a style attribute: the page's CSP allows no inline style.
      el.style.flexGrow = String(t[k] ?? 0);
      el.hidden = !t[k];
    }
    cancelButton.hidden = ended || !report.cancellable;
    const what = report.dry_run
      ? [`${num(t.ok)} would change`, `${num(t.unchanged)} up to date`, `${num(t.failed)} failed`]
      : [`${num(t.ok)} updated`, `${num(t.unchanged)} unchanged`, `${num(t.failed)} failed`];
    if (t.skipped) what.push(`${num(t.skipped)} skipped`);
    const text = `${num(done)} of ${plural(total, 'site')} done — ${what.join(', ')}${ended ? '' : phase ? ` · phase: ${phase}` : ''}`;
    replace(counts, text);
    progress.setAttribute('aria-label', text);
    counts.dataset.done = String(done);
    counts.dataset.total = String(total);
    announceProgress(text);
  }

  /** Fetches the fleet records of the URLs not yet known; true when it fetched some. */
  async function resolveSites(urls) {
    const missing = urls.filter((u) => !siteByUrl.has(u));
    if (!missing.length) return false;
    for (const u of missing) siteByUrl.set(u, null);
    try {
      for (const site of await sitesByRef(missing)) siteByUrl.set(site.url, site);
      return true;
    } catch {
      // Names are a nicety: these rows keep their URLs (asking again at every live update would
      // flood a dashboard in trouble).
      return false;
    }
  }

  /** The rows of the page on screen, after the filter. */
  function pageRows() {
    const list = [...rows.values()].filter((r) => !filter || r.status === filter);
    pager.setTotal(list.length);
    return pager.slice(list);
  }

  function renderRows() {
    const page = pageRows();
    // Another page or filter: its sites' names follow as soon as they are fetched.
    void resolveSites(page.map((r) => r.url)).then((found) => found && renderRows());
    replace(
      tbody,
      page.length
        ? page.map((r) =>
            runRow(r, { site: siteByUrl.get(r.url) ?? undefined, version, dryRun: report.dry_run }),
          )
        : h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No site here.')),
    );
  }

  async function renderRecap() {
    recap.hidden = !ended;
    failures.hidden = !ended;
    if (ended) {
      replace(recap, ...(await recapOf(report, { ctx, errorEl: error, version })));
      replace(failures, failureGroupsPanel(report, { ctx, errorEl: error }));
    }
  }

  async function cancelRun() {
    const t = tally();
    const yes = await openDialog({
      title: 'Cancel this run?',
      body: h(
        'div',
        { class: 'stack' },
        h('p', {}, `No new site starts. Sites being pushed right now finish (a write is never cut in half); the ${plural(t.pending, 'site')} not started stay pending.`),
        h('p', {}, 'The run can be resumed later: it then pushes only to the pending sites, with the same keys.'),
      ),
      actions: [
        { label: 'Keep running', value: 'keep' },
        { label: 'Cancel run', value: 'cancel', submit: true, class: 'danger' },
      ],
    });
    if (!yes) return;
    try {
      cancelButton.disabled = true;
      const res = await api(ROUTES.cancelRun, { method: 'POST', params: { id }, body: {} });
      announce(res.message);
      replace(counts, res.message);
    } catch (err) {
      cancelButton.disabled = false;
      error.textContent = err.message;
    }
  }

  const renderLive = throttle(() => {
    renderHead();
    renderProgress();
    renderRows();
  }, 100);

  async function finish(endReport) {
    for (const s of endReport.sites) rows.set(s.url, s);
    try {
      report = await api(ROUTES.run, { params: { id } });
      for (const s of report.sites)
        rows.set(s.url, { ...s, changes: s.changes.length ? s.changes : (rows.get(s.url)?.changes ?? []) });
    } catch {
      report = { ...report, ...endReport };
    }
    ended = true;
    renderLive.cancel();
    renderHead();
    renderProgress();
    announceProgress.flush();
    renderRows();
    await renderRecap();
    const t = report.summary;
    announce(
      `${report.dry_run ? 'Preview' : 'Run'} finished: ${num(t.ok)} ${report.dry_run ? 'would change' : 'updated'}, ${num(t.failed)} failed.`,
    );
  }

  // The first page shows its sites' names from the start.
  await resolveSites(pageRows().map((r) => r.url));
  renderHead();
  renderProgress();
  renderRows();
  await renderRecap();

  if (report.active) {
    stream = followRun(id, {
      onPhase: (p) => {
        phase = p.phase;
        renderLive();
      },
      onSite: (s) => {
        rows.set(s.url, { ...rows.get(s.url), ...s });
        renderLive();
      },
      onEnd: (end) => void finish(end).catch((err) => (error.textContent = err.message)),
      onBroken: () => {
        error.textContent = 'The live progress stream was lost. Reload the page to see where the run is.';
      },
    });
  } else if (report.state === 'running') {
    error.textContent =
      'This run is going on in another process (the CLI or another dashboard): reload to see its progress.';
  }

  return () => {
    stream?.close();
    renderLive.cancel();
    announceProgress.cancel();
  };
}
