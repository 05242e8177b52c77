/**
 * A run's failures grouped by code (issue 11 point 5): one line per code with its count and the fix
 * said once, and from each group: run the doctor on its first site, export its sites as CSV,
 * re-run just that group. The whole run exports as CSV too.
 */
import { ROUTES, api, path, sitesByRef } from '../api.js';
import { announce, h } from '../dom.js';
import { num, plural } from '../format.js';
import { doctorDialog } from './site-doctor.js';

const csvHref = (id, query) => {
  const q = new URLSearchParams(query).toString();
  return `${path(ROUTES.runExport, { id })}${q ? `?${q}` : ''}`;
};

export function failureGroupsPanel(report, { ctx, errorEl }) {
  const groups = report.failure_groups ?? [];
  const id = report.run_id;
  const exportAll = h('a', { href: csvHref(id, {}), download: `run-${id}.csv`, class: 'button-link' }, 'Export all sites (CSV)');
  if (!groups.length)
    return h('section', { class: 'panel failures', 'aria-labelledby': 'failures-h' }, h('h2', { id: 'failures-h' }, 'No failures'), h('div', { class: 'actions' }, exportAll));
  const doctor = async (url, button) => {
    button.disabled = true;
    try {
      const [site] = await sitesByRef([url]);
      if (!site) throw new Error(`${url} is no longer in the fleet.`);
      await doctorDialog(site);
    } catch (err) {
      errorEl.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  };
  const rerun = async (code, button) => {
    button.disabled = true;
    try {
      const res = await api(ROUTES.retryFailed, { method: 'POST', params: { id }, body: { code } });
      announce(`Re-running ${plural(res.sites, 'site')} that failed with ${code}.`);
      ctx.navigate(`#/runs/${encodeURIComponent(res.run_id)}`);
    } catch (err) {
      button.disabled = false;
      errorEl.textContent = err.message;
    }
  };
  const failed = groups.reduce((n, g) => n + g.count, 0);
  return h(
    'section',
    { class: 'panel failures', 'aria-labelledby': 'failures-h' },
    h('h2', { id: 'failures-h' }, `Failures by cause: ${plural(failed, 'site')}`),
    h(
      'ul',
      { class: 'failure-groups' },
      groups.map((g) =>
        h(
          'li',
          { dataset: { code: g.code } },
          h('p', { class: 'failure-title' }, h('code', {}, g.code), h('span', { class: 'failure-count' }, ` × ${num(g.count)}`)),
          g.hint ? h('p', { class: 'failure-hint' }, 'Fix: ', g.hint) : null,
          g.message ? h('p', { class: 'muted small' }, `e.g. ${g.sample[0] ?? ''}: ${g.message}`) : null,
          h(
            'div',
            { class: 'actions' },
            g.sample[0]
              ? h('button', { type: 'button', onclick: (e) => doctor(g.sample[0], e.currentTarget) }, 'Doctor one site')
              : null,
            h('a', { href: csvHref(id, { code: g.code }), download: `run-${id}-${g.code}.csv`, class: 'button-link' }, `Export ${plural(g.count, 'site')} (CSV)`),
            report.active
              ? null
              : h('button', { type: 'button', onclick: (e) => rerun(g.code, e.currentTarget) }, `Re-run these ${num(g.count)}`),
          ),
        ),
      ),
    ),
    h('div', { class: 'actions' }, exportAll),
  );
}
