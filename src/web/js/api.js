/**
 * The UI's only way to the dashboard: the admin JSON API, as any script would call it. A write
 * carries the session's CSRF token (header named by the protocol); the session itself is the
 * HttpOnly cookie, which this code never sees. A run's progress arrives as server-sent events.
 *
 * @example const { sites, total } = await api(ROUTES.sites, { query: { tag: ['eu'], limit: 50, offset: 0 } });
 *          await api(ROUTES.site, { method: 'DELETE', params: { id } });
 */
import { CSRF_HEADER, ROUTES, path } from './protocol.js';

export { ROUTES, path };

/** An API refusal: the catalog `code` (callers branch on it) and the server's message. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

let csrfToken = null;
const expiredListeners = new Set();

/** `fn` runs when a call finds the session gone (401): the app shows the login again. */
export function onSessionExpired(fn) {
  expiredListeners.add(fn);
}

function urlOf(route, params, query) {
  const url = params ? path(route, params) : route;
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      if (value.length > 0) q.set(name, value.join(','));
    } else q.set(name, String(value));
  }
  const qs = q.toString();
  return qs ? `${url}?${qs}` : url;
}

export async function api(route, { method = 'GET', params, query, body, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers[CSRF_HEADER] = csrfToken;
  let res;
  try {
    res = await fetch(urlOf(route, params, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'The dashboard did not answer. Is it still running?');
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const error = new ApiError(
      res.status,
      data?.error ?? 'http_error',
      data?.message ?? `The dashboard answered HTTP ${res.status}.`,
      Number(res.headers.get('retry-after')) || null,
    );
    if (res.status === 401 && route !== ROUTES.login) {
      csrfToken = null;
      for (const fn of expiredListeners) fn(error);
    }
    throw error;
  }
  return data;
}

/** Refs per request: 100 URLs keep the request line well under the server's header limit. */
const REFS_PER_REQUEST = 100;

/**
 * The fleet records of some sites by id, name or URL (`ref`), a hundred per request, never the
 * whole fleet. Unknown refs are simply absent. A URL holding a comma cannot be asked for (the API
 * splits a list on commas): that site is absent too.
 *
 * @example const sites = await sitesByRef(report.sites.slice(0, 50).map((s) => s.url));
 */
export async function sitesByRef(refs) {
  const asked = [...new Set(refs)].filter((r) => r && !r.includes(','));
  const chunks = [];
  for (let i = 0; i < asked.length; i += REFS_PER_REQUEST) chunks.push(asked.slice(i, i + REFS_PER_REQUEST));
  const pages = await Promise.all(
    chunks.map((ref) => api(ROUTES.sites, { query: { ref, limit: ref.length } })),
  );
  return pages.flatMap((p) => p.sites);
}

export async function login(password) {
  const data = await api(ROUTES.login, { method: 'POST', body: { password } });
  csrfToken = data.csrf_token;
  return data;
}

/** After a reload: is there still a session? Picks its CSRF token up again. */
export async function restoreSession() {
  try {
    const data = await fetch(ROUTES.session, {
      headers: { accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (!data.ok) return false;
    const body = await data.json();
    if (body.via !== 'session') return false;
    csrfToken = body.csrf_token;
    return true;
  } catch {
    return false;
  }
}

export async function logout() {
  try {
    await api(ROUTES.logout, { method: 'POST', body: {} });
  } finally {
    csrfToken = null;
  }
}

/**
 * Follows a run's events (`phase`, `site`, `end`) from the first one: the server replays what
 * already happened, then streams the rest. Closed after `end` (an EventSource would otherwise
 * reconnect forever); `onBroken` when the stream is lost for good.
 */
export function followRun(id, { onPhase, onSite, onEnd, onBroken }) {
  const source = new EventSource(path(ROUTES.runEvents, { id }));
  const parse = (e) => JSON.parse(e.data);
  source.addEventListener('phase', (e) => onPhase?.(parse(e)));
  source.addEventListener('site', (e) => onSite?.(parse(e)));
  source.addEventListener('end', (e) => {
    source.close();
    onEnd?.(parse(e));
  });
  // While the server is reachable the browser reconnects by itself (with Last-Event-ID, so
  // nothing is missed or repeated); CLOSED means it gave up (401, 404, dashboard gone).
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) onBroken?.();
  });
  return { close: () => source.close() };
}
