/** The login form: the admin password, refused with the server's reason (wrong, or locked out for a while). */
import { ApiError, login } from '../api.js';
import { field, h } from '../dom.js';

export function render(container, { message, onLoggedIn }) {
  const password = h('input', {
    type: 'password',
    name: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const error = h('p', { class: 'form-error', role: 'alert', id: 'login-error' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  password.setAttribute('aria-describedby', error.id);
  const form = h(
    'form',
    { class: 'login-card', novalidate: true },
    h(
      'div',
      { class: 'login-brand' },
      h('img', { src: '/web/favicon.svg', alt: '', width: 36, height: 36 }),
      h('span', {}, 'keyfleet'),
    ),
    h('h1', { tabindex: '-1' }, 'Log in to the dashboard'),
    message ? h('p', { class: 'notice', role: 'status' }, message) : null,
    field('Admin password', password),
    error,
    submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (password.value === '') {
      error.textContent = 'Enter the admin password.';
      password.focus();
      return;
    }
    submit.disabled = true;
    try {
      await login(password.value);
      password.value = '';
      onLoggedIn();
    } catch (err) {
      error.textContent = loginRefusal(err);
      password.setAttribute('aria-invalid', 'true');
      submit.disabled = false;
      password.select();
      password.focus();
    }
  });
  container.append(form);
  password.focus();
}

function loginRefusal(err) {
  if (!(err instanceof ApiError)) return err.message;
  if (err.code === 'invalid_password') return 'Wrong password. Nothing was changed; try again.';
  if (err.code === 'too_many_attempts')
    return `Too many failed attempts from this address. Try again in ${err.retryAfter ?? 60} seconds.`;
  return err.message;
}
