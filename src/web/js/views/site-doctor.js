/**
 * A site's doctor (POST /api/admin/sites/:id/doctor): `keyfleet doctor <url>` from the dashboard, in
 * a dialog. It runs as soon as the dialog opens and shows the ladder as the CLI prints it — each check
 * with pass/warn/fail/skip as a word, not a colour only — then the diagnosis: the guide's fix and the
 * curl command that reproduces it (keys as $VARIABLES, never a value). "Run again" repeats it,
 * optionally with the Stripe test (one read-only Stripe call from the site). Esc or Close ends it.
 */
import { ROUTES, api } from '../api.js';
import { announce, h, replace } from '../dom.js';
import { badge, duration } from '../format.js';

const STATUS = {
  pass: ['ok', 'Pass'],
  warn: ['warn', 'Warn'],
  fail: ['bad', 'Fail'],
  skip: ['neutral', 'Skip'],
};
const VERDICT = {
  pass: ['notice-ok', 'Every check passed.'],
  warn: ['notice-warn', 'The site works, with a warning.'],
  fail: ['notice-bad', 'The site fails a check.'],
};
const KEY_USED = {
  site: "Opened with the site's own API key ($SITE_API_KEY in the curl command).",
  master: 'Opened with TEMPLATE_MASTER_API_KEY.',
};

function ladderTable(checks) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data doctor-ladder' },
      h('caption', { class: 'sr-only' }, 'Checks, in the order the guide runs them'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Result', 'Check', 'Detail', 'Time'].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        checks.map((c) => {
          const [kind, label] = STATUS[c.status] ?? ['neutral', c.status];
          return h(
            'tr',
            { class: `step-${c.status}`, dataset: { check: c.name } },
            h('td', {}, badge(kind, label)),
            h('th', { scope: 'row' }, h('code', {}, c.name)),
            h('td', { class: 'doctor-detail' }, c.detail),
            h('td', { class: 'num' }, duration(c.duration_ms)),
          );
        }),
      ),
    ),
  );
}

function copyButton(text) {
  const button = h(
    'button',
    {
      type: 'button',
      class: 'small',
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          button.textContent = 'Copied';
          announce('The curl command is copied.');
        } catch {
          announce('Copying is not allowed here: select the command instead.');
        }
      },
    },
    'Copy command',
  );
  return button;
}

function diagnosisBlock(answer) {
  const d = answer.report.diagnosis;
  const [cls, summary] = VERDICT[answer.verdict] ?? VERDICT.fail;
  if (d === null) return h('section', { class: `notice ${cls} doctor-diagnosis` }, h('h3', {}, summary));
  return h(
    'section',
    { class: `notice ${cls} doctor-diagnosis`, 'aria-labelledby': 'doctor-diagnosis-title' },
    h('h3', { id: 'doctor-diagnosis-title' }, 'Diagnosis: ', h('code', {}, d.code)),
    h('p', {}, h('strong', {}, 'Fix: '), d.hint),
    h('p', {}, h('strong', {}, 'Reproduce:')),
    h('pre', { class: 'doctor-curl' }, h('code', {}, d.reproduce)),
    copyButton(d.reproduce),
  );
}

function resultView(answer) {
  const facts = [
    KEY_USED[answer.api_key] ?? 'No key opens this site: the authenticated checks could not run.',
    answer.compared_with
      ? `Compared with key version ${answer.compared_with}.`
      : 'No desired key version: nothing to compare the keys with.',
  ];
  return [
    h(
      'h3',
      { class: 'doctor-verdict', tabindex: '-1' },
      'Verdict: ',
      badge(STATUS[answer.verdict]?.[0] ?? 'neutral', answer.verdict),
    ),
    diagnosisBlock(answer),
    ladderTable(answer.report.checks),
    h('p', { class: 'muted small' }, facts.join(' ')),
  ];
}

/** Opens the doctor for `site` and runs it; resolves when the dialog is closed. */
export function doctorDialog(site) {
  return new Promise((resolve) => {
    const titleId = `dlg-${Math.random().toString(36).slice(2, 9)}`;
    const stripe = h('input', { type: 'checkbox', name: 'stripe' });
    const status = h('p', { class: 'doctor-status', role: 'status' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const result = h('div', { class: 'doctor-result' });
    const run = h('button', { type: 'submit', class: 'primary' }, 'Run again');
    const close = h('button', { type: 'button', value: 'close' }, 'Close');
    const form = h(
      'form',
      { method: 'dialog', class: 'dialog-form' },
      h('h2', { id: titleId }, `Doctor: ${site.name}`),
      h('p', { class: 'muted' }, site.url),
      status,
      error,
      result,
      h(
        'label',
        { class: 'inline' },
        stripe,
        ' Also test the stored secret with Stripe (the site makes one read-only Stripe call)',
      ),
      h('div', { class: 'actions' }, close, run),
    );
    const dialog = h('dialog', { 'aria-labelledby': titleId, class: 'dialog-wide doctor-dialog' }, form);
    let inFlight = null;

    async function examine() {
      inFlight?.abort();
      const controller = new AbortController();
      inFlight = controller;
      run.disabled = true;
      error.textContent = '';
      result.setAttribute('aria-busy', 'true');
      status.classList.remove('sr-only');
      status.textContent = `Running the doctor on ${site.name}…`;
      try {
        const answer = await api(ROUTES.siteDoctor, {
          method: 'POST',
          params: { id: site.id },
          body: { stripe: stripe.checked },
          signal: controller.signal,
        });
        replace(result, resultView(answer));
        const code = answer.report.diagnosis?.code;
        status.textContent = `Doctor finished: ${answer.verdict}${code ? ` (${code})` : ''}.`;
        // The verdict below says it on screen; the status line stays for assistive tech.
        status.classList.add('sr-only');
        announce(status.textContent);
        result.querySelector('.doctor-verdict')?.focus();
      } catch (err) {
        if (err.name === 'AbortError') return;
        status.textContent = '';
        error.textContent = err.message;
      } finally {
        if (inFlight === controller) {
          inFlight = null;
          run.disabled = false;
          result.setAttribute('aria-busy', 'false');
        }
      }
    }

    close.addEventListener('click', () => dialog.close());
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void examine();
    });
    const opener = document.activeElement;
    dialog.addEventListener('close', () => {
      inFlight?.abort();
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    close.focus();
    void examine();
  });
}
