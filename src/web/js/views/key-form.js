/**
 * The form for a new key version: only the keys filled in change (the others are kept from the
 * current version), live keys ask for a confirmation first, and the fields are emptied once the
 * vault has sealed the values — they are never shown again.
 */
import { ROUTES, api } from '../api.js';
import { field, h, openDialog } from '../dom.js';
import { KEY_SETTINGS, SETTING_LABELS } from '../format.js';

const KEY_NAMES = Object.keys(KEY_SETTINGS);
const PLACEHOLDERS = {
  publishable_key: 'pk_test_…',
  secret_key: 'sk_test_… or rk_test_…',
  webhook_secret: 'whsec_…',
  price_id: 'price_…',
};
/** Secrets are typed into password fields: not shown on screen, not offered for autofill. */
const SECRET = new Set(['secret_key', 'webhook_secret']);

/** `onSaved(answer)` runs after the API has saved the version (201). */
export function keyForm({ onSaved }) {
  const inputs = Object.fromEntries(
    KEY_NAMES.map((n) => [
      n,
      h('input', {
        name: n,
        type: SECRET.has(n) ? 'password' : 'text',
        autocomplete: 'off',
        spellcheck: 'false',
        placeholder: PLACEHOLDERS[n],
      }),
    ]),
  );
  const tag = h('input', { name: 'tag', autocomplete: 'off' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Save new version');
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h(
      'p',
      { class: 'muted' },
      'Only the keys you fill in change; the others are kept from the current version. Values are sealed in the vault and never shown again.',
    ),
    KEY_NAMES.map((n) => field(SETTING_LABELS[KEY_SETTINGS[n]], inputs[n])),
    field('For tag', tag, 'Optional: make it the override of this tag instead of the fleet default.'),
    error,
    submit,
  );

  const confirmLive = () =>
    openDialog({
      title: 'Save LIVE keys?',
      body: h('p', {}, "These are live keys: once pushed, real customers' payments use them."),
      actions: [
        { label: 'Cancel', value: '' },
        { label: 'Save live keys', value: 'yes', submit: true, class: 'danger' },
      ],
    });

  /** Issue 11: saving never silently changes what the fleet should hold. */
  const askDefault = (tagName) =>
    openDialog({
      title: tagName ? `Make it the override of tag ${tagName}?` : 'Make it the fleet default?',
      body: h(
        'div',
        { class: 'stack' },
        h(
          'p',
          {},
          tagName
            ? `Sites tagged ${tagName} will then want the new version, and get it on the next push or reconcile.`
            : 'Every site without its own version or a tag override will then want the new version, and get it on the next push or reconcile.',
        ),
        h('p', { class: 'muted' }, 'Or only save it now, and set it as desired later under Desired state.'),
      ),
      actions: [
        { label: 'Cancel', value: '' },
        { label: 'Only save it', value: 'save', submit: true },
        { label: tagName ? 'Save and make it the override' : 'Save and make it the default', value: 'default', submit: true, class: 'primary' },
      ],
    });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const body = {};
    for (const n of KEY_NAMES) if (inputs[n].value !== '') body[n] = inputs[n].value;
    if (Object.keys(body).length === 0) {
      error.textContent = 'Fill in at least one key.';
      inputs.publishable_key.focus();
      return;
    }
    if (tag.value.trim()) body.tag = tag.value.trim();
    if (Object.values(body).some((v) => /^(pk|sk|rk)_live_/.test(v)) && (await confirmLive()) !== 'yes')
      return;
    const choice = await askDefault(body.tag);
    if (choice !== 'save' && choice !== 'default') return;
    body.make_default = choice === 'default';
    submit.disabled = true;
    try {
      const res = await api(ROUTES.keys, { method: 'POST', body });
      for (const input of Object.values(inputs)) input.value = '';
      tag.value = '';
      await onSaved(res, body.tag, body.make_default);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
