/**
 * One run: a preview (dry run: per site, masked, what would change) with Confirm; a push watched
 * live (server-sent events: each site as it finishes) to its recap; Re-run failed only; Resume for
 * a run the dashboard was stopped in the middle of. After a push, says whether its key version is
 * now verified on every site (safe to roll the old key in Stripe).
 */
import { ROUTES, api, followRun } from '../api.js';
import { announce, h, replace, throttle } from '../dom.js';
import {
  KEY_SETTINGS,
  SETTING_LABELS,
  duration,
  fmtTime,
  masked,
  maskedKey,
  num,
  plural,
  runKind,
  runStateBadge,
  siteResultBadge,
} from '../format.js';
import { createPager } from '../pager.js';
import { confirmRun, resumeRun, retryFailed } from './run-actions.js';

const FILTERS = [
  ['', 'All sites'],
  ['pending', 'Pending'],
  ['ok', 'Changed'],
  ['unchanged', 'Unchanged'],
  ['failed', 'Failed'],
  ['skipped', 'Skipped'],
];
const SETTING_OF_KEY = KEY_SETTINGS;

export async function render(container, ctx) {
  const id = ctx.params[0];
  let [report, { sites }, { versions }] = await Promise.all([
    api(ROUTES.run, { params: { id } }),
    api(ROUTES.sites),
    api(ROUTES.keys),
  ]);
  const siteByUrl = new Map(sites.map((s) => [s.url, s]));
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
  const progress = h('progress', { max: 1, value: 0, 'aria-label': 'Sites done' });
  const counts = h('p', { class: 'counts' });
  const live = h('p', { class: 'sr-only', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const recap = h('section', { class: 'recap', 'aria-labelledby': 'recap-h', tabindex: '-1' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const filterSelect = h(
    'select',
    { 'aria-label': 'Show', onchange: () => ((filter = filterSelect.value), pager.reset(), renderRows()) },
    FILTERS.map(([v, l]) => h('option', { value: v }, l)),
  );
  const tbody = h('tbody', {});
  const pager = createPager({ label: 'Sites', onChange: () => renderRows() });

  container.append(
    h('div', { class: 'view-head' }, heading, h('a', { href: '#/history', class: 'muted' }, '‹ All runs')),
    meta,
    h('section', { class: 'panel progress-panel', 'aria-label': 'Progress' }, progress, counts, live),
    error,
    recap,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'sites-h' },
      h(
        'div',
        { class: 'panel-head' },
        h('h2', { id: 'sites-h' }, report.dry_run ? 'What each site would change' : 'Sites'),
        filterSelect,
      ),
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
              [
                'Site',
                'Result',
                report.dry_run ? 'Would change' : 'Changed',
                'Verified',
                'Attempts',
                'Time',
                'Error',
              ].map((c) => h('th', { scope: 'col' }, c)),
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
      item('State', runStateBadge(ended ? report.state : 'running')),
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
          SETTING_LABELS[SETTING_OF_KEY[name]] ?? name,
          maskedKey(version?.keys[name] ?? { ...k, prefix: null, mode: null }),
        ),
      ),
    );
  }

  const announceProgress = throttle((text) => (live.textContent = text), 1500);

  function renderProgress() {
    const t = tally();
    const total = rows.size;
    const done = total - t.pending;
    progress.max = Math.max(1, total);
    progress.value = done;
    const what = report.dry_run
      ? [`${num(t.ok)} would change`, `${num(t.unchanged)} up to date`, `${num(t.failed)} failed`]
      : [`${num(t.ok)} updated`, `${num(t.unchanged)} unchanged`, `${num(t.failed)} failed`];
    if (t.skipped) what.push(`${num(t.skipped)} skipped`);
    const text = `${num(done)} of ${plural(total, 'site')} done — ${what.join(', ')}${ended ? '' : phase ? ` · phase: ${phase}` : ''}`;
    replace(counts, text);
    counts.dataset.done = String(done);
    counts.dataset.total = String(total);
    announceProgress(text);
  }

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

  function changesCell(r) {
    if (!r.changes?.length)
      return r.status === 'pending'
        ? ''
        : h('span', { class: 'muted' }, r.status === 'unchanged' ? 'nothing' : '—');
    const target = siteByUrl.get(r.url)?.desired.version_id;
    const other = target && version && target !== version.id;
    return h(
      'ul',
      { class: 'changes' },
      r.changes.map((setting) => {
        const name = Object.keys(SETTING_OF_KEY).find((n) => SETTING_OF_KEY[n] === setting);
        const k = !other && version ? version.keys[name] : null;
        const from = before(r, setting);
        return h(
          'li',
          { dataset: { setting } },
          h('span', { class: 'change-name' }, SETTING_LABELS[setting] ?? setting),
          ': ',
          from ? h('code', { class: 'from' }, from) : null,
          from ? ' → ' : null,
          k
            ? h('code', { class: 'to', title: `fp ${k.fingerprint}` }, masked(k))
            : other
              ? h('span', { class: 'to' }, target)
              : null,
        );
      }),
    );
  }

  function row(r) {
    const site = siteByUrl.get(r.url);
    return h(
      'tr',
      { class: `result-${r.status}`, dataset: { url: r.url } },
      h(
        'th',
        { scope: 'row', class: 'site-cell' },
        h('span', { class: 'site-name' }, site?.name ?? r.url),
        site ? h('span', { class: 'site-url' }, r.url) : null,
      ),
      h('td', {}, siteResultBadge(r.status, report.dry_run)),
      h('td', {}, changesCell(r)),
      h(
        'td',
        {},
        r.status === 'pending'
          ? ''
          : r.verified
            ? h('span', { class: 'yes' }, '✓')
            : h('span', { class: 'muted' }, '—'),
      ),
      h('td', { class: 'num' }, r.status === 'pending' ? '' : num(r.attempts)),
      h('td', { class: 'num' }, r.status === 'pending' ? '' : duration(r.duration_ms)),
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

  function renderRows() {
    const list = [...rows.values()].filter((r) => !filter || r.status === filter);
    pager.setTotal(list.length);
    const page = pager.slice(list);
    replace(
      tbody,
      page.length ? page.map(row) : h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No site here.')),
    );
  }

  async function renderRecap() {
    if (!ended) {
      recap.hidden = true;
      return;
    }
    recap.hidden = false;
    const t = report.summary;
    const parts = [];
    let title;
    let kind = 'ok';
    if (report.state === 'interrupted' || report.state === 'cancelled') {
      kind = 'warn';
      title = report.state === 'interrupted' ? 'Interrupted' : 'Cancelled';
      const pending = t.total - t.ok - t.unchanged - t.failed - t.skipped;
      parts.push(
        `${report.state === 'interrupted' ? 'The dashboard stopped during this run' : 'This run was stopped'}: ${num(t.total - pending)} of ${plural(t.total, 'site')} finished, ${num(pending)} still pending. Resuming pushes only to the pending sites, with the same keys.`,
      );
    } else if (report.dry_run) {
      title = 'Preview ready';
      parts.push(
        `${plural(t.ok, 'site')} would change, ${num(t.unchanged)} already up to date${t.failed ? `, ${num(t.failed)} could not be checked` : ''}. Nothing was written.`,
      );
      if (t.failed) kind = 'warn';
    } else {
      title = report.state === 'halted' ? 'Halted' : 'Done';
      if (report.state === 'halted' || t.failed) kind = 'bad';
      parts.push(
        `${plural(t.ok, 'site')} updated and verified, ${num(t.unchanged)} already up to date, ${num(t.failed)} failed${t.skipped ? `, ${num(t.skipped)} skipped` : ''}.`,
      );
    }
    if (report.reason) parts.push(report.reason);
    const actions = [];
    if (report.confirmable)
      actions.push(
        h(
          'button',
          { type: 'button', class: 'primary', onclick: () => confirmRun(id, ctx, error) },
          t.ok
            ? `Confirm: push to ${plural(t.total, 'site')}`
            : `Confirm anyway (${plural(t.total, 'site')})`,
        ),
      );
    if (report.resumable)
      actions.push(
        h(
          'button',
          { type: 'button', class: 'primary', onclick: () => resumeRun(id, ctx, error) },
          'Resume run',
        ),
      );
    if (t.failed && report.state !== 'running')
      actions.push(
        h(
          'button',
          { type: 'button', onclick: () => retryFailed(id, ctx, error) },
          `Re-run failed only (${num(t.failed)})`,
        ),
      );
    if (report.dry_run)
      actions.push(h('a', { href: '#/push', class: 'button-link' }, 'Change the selection'));
    const roll = !report.dry_run && report.state === 'done' ? await safeToRollNote() : null;
    replace(
      recap,
      h(
        'div',
        { class: `notice notice-${kind}` },
        h('h2', { id: 'recap-h' }, title),
        parts.map((p) => h('p', {}, p)),
        roll,
      ),
      actions.length ? h('div', { class: 'actions' }, actions) : null,
    );
  }

  /** Whether the run's key version is now on every site that should hold it. */
  async function safeToRollNote() {
    if (!version) return null;
    const { versions: now } = await api(ROUTES.keys);
    const v = now.find((x) => x.id === version.id);
    if (!v?.safe_to_roll) return null;
    return h(
      'p',
      { class: 'safe-line' },
      h('strong', {}, `${v.id} is verified on every site (${num(v.safe_to_roll.sites)}) `),
      `since ${fmtTime(v.safe_to_roll.verified_at)}: it is safe to roll the previous keys in Stripe. `,
      h('a', { href: '#/keys' }, 'Key vault'),
    );
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
