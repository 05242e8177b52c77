/**
 * Bulk actions on every site matching the Sites page's filters (issue 11 point 8: "all N
 * matching", not the 50 rows on screen): export as CSV, add or remove tags, run the doctor, remove.
 * Each but the export is a server-side job; its counts are read until it ends. Removing asks for
 * the number of sites to be typed; the server refuses if the fleet changed since.
 */
import { ROUTES, api, path } from '../api.js';
import { field, h, openDialog } from '../dom.js';
import { num, plural } from '../format.js';
import { splitTags } from '../draft.js';

const POLL_MS = 500;

const queryOf = (filters) => ({
  ...(filters.tag ? { tag: [filters.tag] } : {}),
  ...(filters.problem ? { problem: filters.problem } : {}),
  ...(filters.q ? { q: filters.q } : {}),
});

function exportHref(filters) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(queryOf(filters))) q.set(k, Array.isArray(v) ? v.join(',') : v);
  const qs = q.toString();
  return `${path(ROUTES.exportSites, {})}${qs ? `?${qs}` : ''}`;
}

const VERBS = { remove: 'Removing', add_tags: 'Tagging', remove_tags: 'Untagging', doctor: 'Examining' };

/** Runs a job to its end, telling `progress(text)` its counts as they move. */
async function runJob(body, progress) {
  const { job } = await api(ROUTES.bulkSites, { method: 'POST', body });
  let now = job;
  while (now.state !== 'done') {
    progress(`${VERBS[now.action]}: ${num(now.done)} of ${plural(now.total, 'site')}${now.failed ? `, ${num(now.failed)} failed` : ''}…`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    now = (await api(ROUTES.bulkJob, { params: { id: job.id } })).job;
  }
  return now;
}

const outcomesText = (o) =>
  Object.entries(o)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k.replaceAll('_', ' ')} × ${num(n)}`)
    .join(', ');

/**
 * The bar above the table. `state()` gives `{ filters, total }` as on screen; `say(text, kind)`
 * shows a notice; `reload()` refreshes the page once a job has changed the fleet.
 */
export function bulkBar({ state, say, reload, navigate }) {
  const label = h('span', { class: 'bulk-label' });
  const exportLink = h('a', { class: 'button-link', download: 'sites.csv' }, 'Export (CSV)');
  const busy = (on) => {
    for (const b of buttons) b.disabled = on;
  };
  const start = async (action, extra = {}) => {
    const { filters, total } = state();
    busy(true);
    try {
      const done = await runJob({ action, ...queryOf(filters), expected: total, ...extra }, (t) => say(t, 'info'));
      const failed = done.failed ? ` ${plural(done.failed, 'site')} failed: ${done.errors.map((e) => `${e.site}: ${e.message}`).slice(0, 3).join('; ')}` : '';
      say(`Done on ${plural(done.total, 'site')}: ${outcomesText(done.outcomes) || 'nothing to do'}.${failed}`, done.failed ? 'warn' : 'ok');
      await reload();
    } catch (err) {
      say(err.message, 'bad');
    } finally {
      busy(false);
    }
  };
  const tagDialog = async (remove) => {
    const { total } = state();
    const input = h('input', { name: 'tags', autocomplete: 'off', required: true, placeholder: 'dead, eu' });
    const ok = await openDialog({
      title: remove ? `Remove tags from all ${num(total)} matching sites` : `Tag all ${num(total)} matching sites`,
      body: field('Tags', input, 'Comma-separated.'),
      actions: [
        { label: 'Cancel', value: '' },
        { label: remove ? 'Remove tags' : 'Add tags', value: 'go', submit: true, class: 'primary' },
      ],
      onSubmit: async () => {
        const tags = splitTags(input.value);
        if (!tags.length) throw new Error('Name at least one tag.');
        return tags;
      },
    });
    if (ok) await start(remove ? 'remove_tags' : 'add_tags', { tags: ok });
  };
  const removeDialog = async () => {
    const { total } = state();
    const typed = h('input', { name: 'count', autocomplete: 'off', required: true, inputmode: 'numeric' });
    const ok = await openDialog({
      title: `Remove all ${num(total)} matching sites?`,
      body: h(
        'div',
        { class: 'stack' },
        h('p', {}, `They leave the dashboard's registry: no push, verify or rollback reaches them any more. The sites themselves are not touched. Their run history stays.`),
        field(`Type ${total} to confirm`, typed),
      ),
      actions: [
        { label: 'Cancel', value: '' },
        { label: `Remove ${plural(total, 'site')}`, value: 'go', submit: true, class: 'danger' },
      ],
      onSubmit: async () => {
        if (typed.value.replaceAll(',', '').trim() !== String(total)) throw new Error(`Type ${total} to remove them.`);
        return true;
      },
    });
    if (ok) await start('remove');
  };
  // A push to every matching site starts as its preview; the preview's Confirm dialog restates it.
  const preview = async () => {
    const { filters } = state();
    busy(true);
    try {
      const body = {
        dry_run: true,
        ...(filters.tag ? { tags: [filters.tag] } : {}),
        ...(filters.problem ? { problem: filters.problem } : {}),
        ...(filters.q ? { q: filters.q } : {}),
      };
      const res = await api(ROUTES.runs, { method: 'POST', body });
      navigate(`#/runs/${encodeURIComponent(res.run_id)}`);
    } catch (err) {
      say(err.message, 'bad');
      busy(false);
    }
  };
  const buttons = [
    h('button', { type: 'button', onclick: () => void preview() }, 'Preview a push'),
    h('button', { type: 'button', onclick: () => void tagDialog(false) }, 'Tag…'),
    h('button', { type: 'button', onclick: () => void tagDialog(true) }, 'Untag…'),
    h('button', { type: 'button', onclick: () => void start('doctor') }, 'Doctor'),
    h('button', { type: 'button', class: 'danger', onclick: () => void removeDialog() }, 'Remove…'),
  ];
  const el = h('div', { class: 'bulk-bar', role: 'group', 'aria-label': 'Every matching site' }, label, exportLink, buttons);
  return {
    el,
    /** Called after every load: says how many sites the actions cover. */
    update() {
      const { filters, total } = state();
      label.textContent = `All ${num(total)} matching:`;
      exportLink.href = exportHref(filters);
      el.hidden = total === 0;
      for (const b of buttons)
        b.setAttribute(
          'aria-label',
          b === buttons[0]
            ? `Preview a push to all ${num(total)} matching sites`
            : `${b.textContent.replace('…', '')} all ${num(total)} matching sites`,
        );
    },
  };
}
