/**
 * The dashboard UI: one page, hash routes (#/sites, #/keys, #/push, #/runs/<id>, #/history), each
 * view rendered from the admin JSON API. Logged out, only the login view shows.
 */
import { logout, onSessionExpired, restoreSession } from './api.js';
import { h, replace } from './dom.js';
import * as historyView from './views/history.js';
import * as keysView from './views/keys.js';
import * as loginView from './views/login.js';
import * as pushView from './views/push.js';
import * as runView from './views/run.js';
import * as sitesView from './views/sites.js';

const VIEWS = [
  { pattern: /^\/sites$/, view: sitesView, nav: 'sites' },
  { pattern: /^\/keys$/, view: keysView, nav: 'keys' },
  { pattern: /^\/push$/, view: pushView, nav: 'push' },
  { pattern: /^\/runs\/([^/]+)$/, view: runView, nav: 'history' },
  { pattern: /^\/history$/, view: historyView, nav: 'history' },
];

const main = document.getElementById('view');
const topbar = document.getElementById('topbar');
let loggedIn = false;
let generation = 0;
let cleanup = null;
let firstRender = true;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/sites';
  const [path, qs = ''] = raw.split('?');
  return { path, query: Object.fromEntries(new URLSearchParams(qs)) };
}

export function navigate(hash) {
  if (location.hash === hash) void show();
  else location.hash = hash;
}

async function show() {
  const mine = ++generation;
  cleanup?.();
  cleanup = null;
  if (!loggedIn) return showLogin();
  const { path, query } = parseHash();
  const match = VIEWS.map((v) => ({ v, m: v.pattern.exec(path) })).find((x) => x.m);
  if (!match) return navigate('#/sites');
  topbar.hidden = false;
  for (const a of topbar.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === match.v.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const container = h('div', { class: 'view', 'aria-busy': 'true' });
  replace(main, container);
  const ctx = {
    params: match.m.slice(1).map(decodeURIComponent),
    query,
    navigate,
    alive: () => mine === generation,
    setTitle: (title) => (document.title = `${title} · keyfleet`),
  };
  try {
    const done = await match.v.view.render(container, ctx);
    if (ctx.alive()) cleanup = done ?? null;
    else done?.();
    // Loaded: what the view shows now comes from the API (tests and scripts wait for this).
    container.setAttribute('aria-busy', 'false');
  } catch (err) {
    if (!ctx.alive()) return;
    replace(
      container,
      h('h1', { tabindex: '-1' }, 'Something went wrong'),
      h('p', { class: 'form-error', role: 'alert' }, err.message),
    );
  }
  if (!ctx.alive()) return;
  // Moving between views puts focus on the new heading, so keyboard and screen reader users start there.
  if (!firstRender) container.querySelector('h1')?.focus();
  firstRender = false;
}

function showLogin(message) {
  topbar.hidden = true;
  document.title = 'Log in · keyfleet';
  const container = h('div', { class: 'view view-login' });
  replace(main, container);
  loginView.render(container, {
    message,
    onLoggedIn: () => {
      loggedIn = true;
      // After login, focus lands on the new page's heading (not <body>): the next Tab goes on from
      // there, Shift+Tab reaches the nav (issue 11).
      firstRender = false;
      void show();
    },
  });
}

onSessionExpired(() => {
  if (!loggedIn) return;
  loggedIn = false;
  cleanup?.();
  cleanup = null;
  showLogin('Your session has ended. Log in again to continue.');
});

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await logout();
  } finally {
    loggedIn = false;
    cleanup?.();
    cleanup = null;
    showLogin('You are logged out.');
  }
});

document.getElementById('skip').addEventListener('click', (e) => {
  e.preventDefault(); // the hash is the route: keep it
  (main.querySelector('h1') ?? main).focus();
});

window.addEventListener('hashchange', () => void show());

loggedIn = await restoreSession();
await show();
