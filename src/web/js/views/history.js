/**
 * History: every run (previews, pushes, reconciles, re-runs, registrations, CLI runs), newest
 * first, and the audit log of who did what. Details come from the API already masked.
 */
import { ROUTES, api } from '../api.js';
import { field, h, replace } from '../dom.js';
import { duration, fmtTime, num, runKind, runOutcomeBadge } from '../format.js';
import { createPager } from '../pager.js';
import { resumeRun } from './run-actions.js';

const LIMITS = [100, 500, 1000];

export async function render(container, ctx) {
  ctx.setTitle('History');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const loadingRow = (cols) => h('tr', {}, h('td', { colspan: cols, class: 'empty' }, 'Loading…'));
  const runsBody = h('tbody', {}, loadingRow(8));
  const auditBody = h('tbody', {}, loadingRow(5));
  const auditFilter = h('input', {
    type: 'search',
    autocomplete: 'off',
    placeholder: 'Action, actor or target',
  });
  const limit = h(
    'select',
    {},
    LIMITS.map((n) => h('option', { value: n }, `Last ${num(n)} entries`)),
  );
  const runsPager = createPager({ label: 'Runs', pageSize: 25, onChange: renderRuns });
  const auditPager = createPager({ label: 'Entries', pageSize: 25, onChange: renderAudit });
  let runs = [];
  let entries = [];

  container.append(
    h('div', { class: 'view-head' }, h('h1', { tabindex: '-1' }, 'History')),
    error,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'runs-h' },
      h('h2', { id: 'runs-h' }, 'Runs'),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data runs-table' },
          h('caption', { class: 'sr-only' }, 'Runs, newest first'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Run', 'Started', 'Kind', 'By', 'State', 'Sites', 'Took', ''].map((c, i) =>
                h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, i ? 'Actions' : '')),
              ),
            ),
          ),
          runsBody,
        ),
      ),
      runsPager.el,
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'audit-h' },
      h(
        'div',
        { class: 'panel-head' },
        h('h2', { id: 'audit-h' }, 'Audit log'),
        h('div', { class: 'row' }, field('Filter', auditFilter), field('Show', limit)),
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data audit-table' },
          h('caption', { class: 'sr-only' }, 'Audit log, newest first'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['When', 'Actor', 'Action', 'Target', 'Details'].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          auditBody,
        ),
      ),
      auditPager.el,
    ),
  );

  function renderRuns() {
    runsPager.setTotal(runs.length);
    const page = runsPager.slice(runs);
    replace(
      runsBody,
      page.length
        ? page.map((r) => {
            const s = r.summary;
            const took = r.finished_at ? new Date(r.finished_at) - new Date(r.started_at) : null;
            return h(
              'tr',
              { dataset: { run: r.id } },
              h('th', { scope: 'row' }, h('a', { href: `#/runs/${encodeURIComponent(r.id)}` }, r.id)),
              h('td', {}, fmtTime(r.started_at)),
              h(
                'td',
                {},
                runKind(r),
                r.key_version_id ? h('span', { class: 'muted small' }, ` · ${r.key_version_id}`) : null,
              ),
              h('td', {}, r.actor),
              h('td', {}, runOutcomeBadge(r)),
              h(
                'td',
                { class: 'sites-summary' },
                h(
                  'span',
                  { title: r.dry_run ? 'would change' : 'updated' },
                  `${num(s.ok)} ${r.dry_run ? 'to change' : 'updated'}`,
                ),
                ` · ${num(s.unchanged)} unchanged`,
                s.failed ? h('span', { class: 'no' }, ` · ${num(s.failed)} failed`) : null,
                ` · ${num(s.total)} total`,
              ),
              h('td', { class: 'num' }, duration(took)),
              h(
                'td',
                {},
                !r.active && (r.state === 'interrupted' || r.state === 'cancelled') && r.command === 'push'
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
            );
          })
        : h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No run yet.')),
    );
  }

  /** A detail value as text: masked keys as prefix…last4, lists and objects compact. */
  function valueText(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v !== 'object') return String(v);
    if (Array.isArray(v))
      return v.length > 8
        ? `${v.slice(0, 8).map(valueText).join(', ')}, … (${num(v.length)})`
        : v.map(valueText).join(', ') || '[]';
    if ('last4' in v && 'fingerprint' in v) return `${v.prefix ?? ''}…${v.last4} (fp ${v.fingerprint})`;
    return `{ ${Object.entries(v)
      .map(([k, x]) => `${k}: ${valueText(x)}`)
      .join(', ')} }`;
  }

  function detailText(detail) {
    return Object.entries(detail ?? {})
      .map(([k, v]) => `${k}: ${valueText(v)}`)
      .join(' · ');
  }

  function renderAudit() {
    const q = auditFilter.value.trim().toLowerCase();
    const list = q
      ? entries.filter((e) => [e.action, e.actor, e.target ?? ''].some((x) => x.toLowerCase().includes(q)))
      : entries;
    auditPager.setTotal(list.length);
    const page = auditPager.slice(list);
    replace(
      auditBody,
      page.length
        ? page.map((e) =>
            h(
              'tr',
              { dataset: { action: e.action } },
              h('td', {}, fmtTime(e.at)),
              h('td', {}, e.actor),
              h('td', {}, h('code', {}, e.action)),
              h(
                'td',
                {},
                e.target && /^\d{8}-\d{6}-/.test(e.target)
                  ? h('a', { href: `#/runs/${encodeURIComponent(e.target)}` }, e.target)
                  : (e.target ?? '—'),
              ),
              h('td', { class: 'detail' }, detailText(e.detail)),
            ),
          )
        : h(
            'tr',
            {},
            h('td', { colspan: 5, class: 'empty' }, q ? 'No entry matches.' : 'The audit log is empty.'),
          ),
    );
  }

  async function loadAudit() {
    entries = (await api(ROUTES.audit, { query: { limit: limit.value } })).entries;
    auditPager.reset();
    renderAudit();
  }

  auditFilter.addEventListener('input', () => {
    auditPager.reset();
    renderAudit();
  });
  limit.addEventListener('change', () => loadAudit().catch((err) => (error.textContent = err.message)));

  const [runList] = await Promise.all([api(ROUTES.runs, { query: { limit: 1000 } }), loadAudit()]);
  runs = runList.runs;
  renderRuns();
}
