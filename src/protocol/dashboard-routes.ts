/**
 * Every route of the dashboard's HTTP API, written down once: the server registers these, the tests
 * and the web UI call them. `/api/admin/*` needs the admin (session cookie + CSRF token on writes, or
 * `Authorization: Bearer <KEYFLEET_ADMIN_TOKEN>`); `/api/sites/*` is what template sites call.
 */
export const DASHBOARD_ROUTES = {
  login: '/api/admin/login',
  logout: '/api/admin/logout',
  session: '/api/admin/session',
  sites: '/api/admin/sites',
  site: '/api/admin/sites/:id',
  importSites: '/api/admin/sites/import',
  rotateCredentials: '/api/admin/sites/:id/rotate-credentials',
  siteDoctor: '/api/admin/sites/:id/doctor',
  approveSite: '/api/admin/sites/:id/approve',
  keys: '/api/admin/keys',
  desired: '/api/admin/desired',
  runs: '/api/admin/runs',
  run: '/api/admin/runs/:id',
  runEvents: '/api/admin/runs/:id/events',
  resumeRun: '/api/admin/runs/:id/resume',
  confirmRun: '/api/admin/runs/:id/confirm',
  retryFailed: '/api/admin/runs/:id/retry-failed',
  audit: '/api/admin/audit',
  verify: '/api/admin/verify',
  health: '/api/health',
  // Issue 11 (the console): key roll advice, preview/cancel, failure groups, bulk jobs.
  keyRoll: '/api/admin/keys/roll',
  cancelRun: '/api/admin/runs/:id/cancel',
  runFailures: '/api/admin/runs/:id/failures',
  runExport: '/api/admin/runs/:id/export.csv',
  bulkSites: '/api/admin/sites/bulk',
  exportSites: '/api/admin/sites/export.csv',
  bulkJob: '/api/admin/jobs/:id',
  // Called by template sites.
  siteStripeKey: '/api/sites/:site/stripe-key',
  register: '/api/sites/register',
} as const;

/** A route with its `:param`s filled in (URL-encoded). */
export function dashboardPath(route: string, params: Record<string, string>): string {
  return route.replace(/:([a-z]+)/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
}

/** Header a session-authenticated write carries its CSRF token in (or the `_csrf` form field). */
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';
export const SESSION_COOKIE = 'kf_session';
