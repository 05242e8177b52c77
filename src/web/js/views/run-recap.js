/**
 * The end of a run, said plainly: what happened, why it stopped when it did, whether its key
 * version is now on every site (safe to roll the old key in Stripe), and what can be done next
 * (confirm the preview, resume, re-run the failed sites).
 */
import { h } from '../dom.js';
import { num, plural } from '../format.js';
import { confirmDialog } from './run-confirm.js';
import { resumeRun, retryFailed } from './run-actions.js';
import { keyRollAdvice } from './safe-to-roll.js';

function summary(report) {
  const t = report.summary;
  if (report.state === 'interrupted' || report.state === 'cancelled') {
    const pending = t.total - t.ok - t.unchanged - t.failed - t.skipped;
    const why =
      report.state === 'interrupted' ? 'The dashboard stopped during this run' : 'This run was stopped';
    return {
      title: report.state === 'interrupted' ? 'Interrupted' : 'Cancelled',
      kind: 'warn',
      text: `${why}: ${num(t.total - pending)} of ${plural(t.total, 'site')} finished, ${num(pending)} still pending. Resuming pushes only to the pending sites, with the same keys.`,
    };
  }
  if (t.total === 0)
    return { title: 'Nothing checked', kind: 'warn', text: 'This run had no site.' };
  if (report.dry_run) {
    const failed = t.failed ? `, ${num(t.failed)} could not be checked` : '';
    return {
      // Every site was checked: the failure budget never stops a preview.
      title: t.failed ? `Preview ready: ${plural(t.failed, 'site')} could not be checked` : 'Preview ready',
      kind: t.failed ? 'warn' : 'ok',
      text: `All ${plural(t.total, 'site')} checked: ${plural(t.ok, 'site')} would change, ${num(t.unchanged)} already up to date${failed}. Nothing was written.`,
    };
  }
  const skipped = t.skipped ? `, ${num(t.skipped)} skipped` : '';
  return {
    // Never a green "Done" over failed sites.
    title: report.state === 'halted' ? 'Halted' : t.failed ? 'Completed with failures' : 'Done',
    kind: report.state === 'halted' || t.failed ? 'bad' : 'ok',
    text: `${plural(t.ok, 'site')} updated and verified, ${num(t.unchanged)} already up to date, ${num(t.failed)} failed${skipped}.`,
  };
}

/** After a push: which keys, if any, no site wants or holds any more (safe to roll in Stripe). */
async function safeToRoll() {
  const safe = (await keyRollAdvice()).filter((k) => k.state === 'safe');
  if (!safe.length) return null;
  return h(
    'p',
    { class: 'safe-line' },
    h('strong', {}, `${plural(safe.length, 'old key')} no site wants or holds any more: `),
    safe.map((k) => `${k.name} …${k.last4}`).join(', '),
    '. They can be rolled in Stripe. ',
    h('a', { href: '#/keys' }, 'Key vault'),
  );
}

/** The recap's content for a run that has ended. */
export async function recapOf(report, { ctx, errorEl, version }) {
  const id = report.run_id;
  const t = report.summary;
  const { title, kind, text } = summary(report);
  const button = (label, cls, action) =>
    h(
      'button',
      { type: 'button', class: cls, onclick: (e) => action(id, ctx, errorEl, e.currentTarget) },
      label,
    );
  const actions = [];
  if (report.confirmable)
    actions.push(
      h(
        'button',
        {
          type: 'button',
          class: 'primary',
          onclick: async () => {
            const res = await confirmDialog(report, version);
            if (res) ctx.navigate(`#/runs/${encodeURIComponent(res.run_id)}`);
          },
        },
        t.failed
          ? `Confirm… (${plural(t.total - t.failed, 'site')} passed, ${num(t.failed)} failed)`
          : `Confirm: push to ${plural(t.total, 'site')}…`,
      ),
    );
  if (report.resumable) actions.push(button('Resume run', 'primary', resumeRun));
  if (t.failed && report.state !== 'running')
    actions.push(button(`Re-run failed only (${num(t.failed)})`, '', retryFailed));
  if (report.dry_run) actions.push(h('a', { href: '#/push', class: 'button-link' }, 'Change the selection'));
  const roll = !report.dry_run && report.state === 'done' ? await safeToRoll() : null;
  return [
    h(
      'div',
      { class: `notice notice-${kind}` },
      h('h2', { id: 'recap-h' }, title),
      h('p', {}, text),
      report.reason ? h('p', {}, report.reason) : null,
      roll,
    ),
    actions.length ? h('div', { class: 'actions' }, actions) : null,
  ];
}
