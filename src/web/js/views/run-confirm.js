/**
 * Confirming a preview (issue 11 point 3): a dialog that restates what will happen before anything
 * is written — how many sites and which selection, the key version, test or LIVE keys, how many
 * sites the preview could not check — and lets the operator leave those out. LIVE keys must be
 * typed for. The push's failure budget is its own (10 % unless changed here), never the preview's.
 */
import { ROUTES, api } from '../api.js';
import { announce, field, h, openDialog } from '../dom.js';
import { num, plural } from '../format.js';

const DEFAULT_BUDGET = '10%';

function scopeOf(report) {
  const s = report.selection ?? { tags: [], sites: 0, drifted_only: false };
  const parts = [];
  if (s.tags.length) parts.push(`sites tagged ${s.tags.join(', ')}`);
  if (s.sites) parts.push(plural(s.sites, 'chosen site'));
  if (!parts.length) parts.push('every site');
  const only = [];
  if (s.problem) only.push(`status ${s.problem}`);
  if (s.q) only.push(`matching "${s.q}"`);
  if (s.drifted_only) only.push('drifted');
  return `${parts.join(' and ')}${only.length ? `, only ${only.join(', ')}` : ''}`;
}

/** "connection_refused × 4,995, timeout × 3" */
const groupsText = (groups) => groups.map((g) => `${g.code} × ${num(g.count)}`).join(', ');

/** Budget as a count of sites, as the server resolves it (`10%` of 5 → 1). */
function budgetCount(spec, total) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(spec);
  if (!m) return null;
  return m[2] === '%' ? Math.ceil((Number(m[1]) / 100) * total) : Number(m[1]);
}

/** Opens the dialog; resolves with the new run's answer, or null when the operator stepped back. */
export function confirmDialog(report, version) {
  const t = report.summary;
  const failed = t.failed;
  const passed = t.total - failed;
  const live = Object.values(report.keys ?? {}).some((k) => k.mode === 'live');
  const onlyPassed = h('input', { type: 'radio', name: 'scope', value: 'passed', checked: failed > 0 && passed > 0, disabled: passed === 0 });
  const all = h('input', { type: 'radio', name: 'scope', value: 'all', checked: failed === 0 || passed === 0 });
  const budget = h('input', { name: 'max_failures', value: DEFAULT_BUDGET, autocomplete: 'off', size: 6 });
  const typed = live ? h('input', { name: 'typed', autocomplete: 'off', required: true, spellcheck: 'false' }) : null;
  const warning = h('p', { class: 'warn-text', role: 'status' });
  const submit = () => document.querySelector('dialog [data-value="push"]');
  const sites = () => (onlyPassed.checked ? passed : t.total);
  const update = () => {
    const n = sites();
    const b = budgetCount(budget.value, n);
    warning.textContent =
      all.checked && failed > 0 && b !== null && failed > b
        ? `The ${plural(failed, 'site')} the preview could not check will most likely fail again: more than the budget of ${plural(b, 'failure')}, so the push would halt. Leave them out, or raise the budget.`
        : '';
    const button = submit();
    if (button) button.textContent = `Push to ${plural(n, 'site')}`;
  };
  for (const el of [onlyPassed, all, budget]) el.addEventListener('input', update);
  queueMicrotask(update);

  const body = h(
    'div',
    { class: 'stack confirm-body' },
    h(
      'dl',
      { class: 'meta confirm-facts' },
      h('div', {}, h('dt', {}, 'Scope'), h('dd', {}, `${plural(t.total, 'site')}: ${scopeOf(report)}`)),
      h('div', {}, h('dt', {}, 'Key version'), h('dd', {}, version?.id ?? report.key_version_id ?? 'unknown')),
      h(
        'div',
        {},
        h('dt', {}, 'Keys'),
        h('dd', {}, live ? h('strong', { class: 'live-text' }, "LIVE: real customers' payments") : 'Test mode'),
      ),
      h(
        'div',
        {},
        h('dt', {}, 'Preview found'),
        h(
          'dd',
          {},
          `${plural(t.ok, 'site')} to change, ${num(t.unchanged)} already up to date, ${num(failed)} could not be checked`,
          failed ? ` (${groupsText(report.failure_groups ?? [])})` : '',
          '.',
        ),
      ),
    ),
    failed
      ? h(
          'fieldset',
          {},
          h('legend', {}, 'Push to'),
          h('label', { class: 'inline' }, onlyPassed, ` Only the ${plural(passed, 'site')} that passed`),
          h('label', { class: 'inline' }, all, ` All ${plural(t.total, 'site')}, expecting ${plural(failed, 'failure')}`),
        )
      : null,
    field('Stop after this many failures', budget, 'A number of sites (5) or a share of them (10%). The preview checked every site whatever this says; it applies to this push only.'),
    typed ? field('Type LIVE to confirm', typed, 'These keys take real payments the moment a site has them.') : null,
    warning,
  );
  return openDialog({
    title: 'Confirm the push',
    body,
    actions: [
      { label: 'Back', value: 'cancel' },
      { label: `Push to ${plural(failed && passed ? passed : t.total, 'site')}`, value: 'push', submit: true, class: 'primary' },
    ],
    onSubmit: async () => {
      if (typed && typed.value.trim() !== 'LIVE') throw new Error('Type LIVE (capitals) to push live keys.');
      const res = await api(ROUTES.confirmRun, {
        method: 'POST',
        params: { id: report.run_id },
        body: { only_passed: onlyPassed.checked, max_failures: budget.value.trim() || DEFAULT_BUDGET },
      });
      announce(`Pushing to ${plural(res.sites, 'site')}.`);
      return res;
    },
  });
}
