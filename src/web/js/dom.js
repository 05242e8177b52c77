/**
 * DOM helpers: elements are built with `h()`, never from HTML strings, so text from the API (site
 * names, error messages, audit details) can never become markup.
 *
 * @example h('button', { type: 'button', onclick: save, 'aria-label': 'Save site' }, 'Save')
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'value' || name === 'checked' || name === 'selected') el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Appends strings (as text), nodes and nested arrays; skips null, undefined and false. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces the element's content. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A label wrapping its control: the accessible name comes from the visible text. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

/** Text for the polite live region every view shares (what a screen reader hears without focus moving). */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (region) region.textContent = text;
}

/** Calls `fn` at most once per `ms`, always with the latest arguments, and once more at the end. */
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  let args = [];
  const run = () => {
    timer = null;
    last = Date.now();
    fn(...args);
  };
  const throttled = (...a) => {
    args = a;
    if (timer) return;
    timer = setTimeout(run, Math.max(0, last + ms - Date.now()));
  };
  throttled.flush = () => {
    if (timer) clearTimeout(timer);
    run();
  };
  throttled.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  return throttled;
}

/** A modal <dialog> with a title, body and buttons; resolves with the value of the button used. */
export function openDialog({ title, body, actions, onSubmit }) {
  return new Promise((resolve) => {
    const titleId = `dlg-${Math.random().toString(36).slice(2, 9)}`;
    const error = h('p', { class: 'form-error', role: 'alert' });
    const form = h(
      'form',
      { method: 'dialog', class: 'dialog-form' },
      h('h2', { id: titleId }, title),
      body,
      error,
      h(
        'div',
        { class: 'actions' },
        actions.map((a) =>
          h(
            'button',
            { type: a.submit ? 'submit' : 'button', value: a.value, class: a.class, 'data-value': a.value },
            a.label,
          ),
        ),
      ),
    );
    const dialog = h('dialog', { 'aria-labelledby': titleId }, form);
    let result = null;
    form.addEventListener('click', (e) => {
      const button = e.target.closest('button[type="button"]');
      if (button) dialog.close();
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const button = e.submitter;
      error.textContent = '';
      try {
        for (const b of form.querySelectorAll('button')) b.disabled = true;
        result = onSubmit ? await onSubmit(form) : (button?.value ?? true);
        dialog.close();
      } catch (err) {
        error.textContent = err.message;
        for (const b of form.querySelectorAll('button')) b.disabled = false;
        form.querySelector('input, select, textarea, button[type="submit"]')?.focus();
      }
    });
    const opener = document.activeElement;
    dialog.addEventListener('close', () => {
      dialog.remove();
      // Focus goes back where it was (the button that opened the dialog), if it is still there.
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
