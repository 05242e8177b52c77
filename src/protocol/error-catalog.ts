/**
 * The one catalog of error codes. Template-side codes carry the HTTP status the site answers with;
 * client-side codes (what the CLI classifies a failed request as) carry whether a retry is safe.
 * Every code has a human message and a one-line fix taken from TROUBLESHOOTING_STRIPE_PROPAGATION.md.
 * Codes are never reused for another meaning; callers branch on `code`, never on message text.
 */
export interface CatalogEntry {
  /** HTTP status a template site answers with (site-side codes only). */
  readonly status?: number;
  readonly message: string;
  readonly hint: string;
  /** Client side: may this failure be retried with backoff? */
  readonly retryable?: boolean;
}

const entries = {
  // --- template site answers ---------------------------------------------------------------------
  no_publishable_key: {
    status: 404,
    message: 'No publishable key is configured on this site.',
    hint: 'Push one: keyfleet push --only pk, or PUT /api/export/settings/stripe_publishable_key.',
  },
  invalid_api_key: {
    status: 401,
    message: 'The X-API-Key header does not match a key this site accepts.',
    hint: "Check TEMPLATE_MASTER_API_KEY on both sides: same value, no whitespace (tr -d '[:space:]').",
  },
  invalid_publishable_key_format: {
    status: 400,
    message: 'The publishable key does not match ^pk_(test|live)_[A-Za-z0-9]+$.',
    hint: 'Copy the whole pk_test_/pk_live_ key from https://dashboard.stripe.com/apikeys; no spaces.',
  },
  invalid_secret_format: {
    status: 400,
    message: 'The secret key does not match ^(sk|rk)_(test|live)_[A-Za-z0-9]+$.',
    hint: 'Copy the whole sk_test_/sk_live_ key from the Stripe dashboard; check with: echo "$STRIPE_SECRET_KEY" | od -c.',
  },
  invalid_webhook_secret_format: {
    status: 400,
    message: 'The webhook secret does not match ^whsec_[A-Za-z0-9]+$.',
    hint: "Copy the endpoint's signing secret (whsec_…) from Stripe's webhook settings; no spaces.",
  },
  invalid_price_id_format: {
    status: 400,
    message: 'The price id does not match ^price_[A-Za-z0-9]+$.',
    hint: 'Use the price id (price_…) from the Stripe product page, not the product id.',
  },
  unknown_setting: {
    status: 404,
    message: 'This setting is not one the site accepts.',
    hint: 'Only stripe_publishable_key, stripe_secret_key, stripe_webhook_secret and stripe_price_id can be set.',
  },
  not_found: {
    status: 404,
    message: 'Not found.',
    hint: 'Check the URL; secrets can never be read back, compare fingerprints via /api/health/stripe.',
  },
  invalid_request: {
    status: 400,
    message: 'The request body is not valid.',
    hint: 'Send compact JSON with the documented fields, e.g. {"value":"pk_test_…"}.',
  },
  unsupported_media_type: {
    status: 415,
    message: 'The request body must be JSON.',
    hint: 'Send the header Content-Type: application/json.',
  },
  payload_too_large: {
    status: 413,
    message: 'The request body is larger than 1 MB.',
    hint: 'Send only the documented fields.',
  },
  too_many_attempts: {
    status: 429,
    message: 'Too many failed authentication attempts from this address.',
    hint: 'Wait for Retry-After seconds, then fix TEMPLATE_MASTER_API_KEY before retrying.',
    retryable: true,
  },
  weak_key: {
    status: 400,
    message: 'The new API key is too short (at least 32 characters).',
    hint: 'Generate one with: openssl rand -base64 32.',
  },
  no_pending_key: {
    status: 409,
    message: 'There is no rotated key waiting for confirmation with this key.',
    hint: 'Call POST /api/export/credentials/rotate first, then confirm with the new key.',
  },
  stripe_not_configured: {
    status: 503,
    message: 'Stripe is not configured on this site (no secret key).',
    hint: 'Push the secret key: keyfleet push --only sk.',
  },
  stripe_auth_failed: {
    status: 502,
    message: 'Stripe rejected the stored secret key.',
    hint: 'Check the key is active at https://dashboard.stripe.com/apikeys and push it again.',
  },
  stripe_unreachable: {
    status: 502,
    message: 'Stripe could not be reached from this site.',
    hint: "Check the site's outbound network, proxy variables and DNS for api.stripe.com.",
  },
  stripe_error: {
    status: 502,
    message: 'Stripe refused the request.',
    hint: 'Check the price id and the Stripe dashboard logs for this request.',
  },
  database_unavailable: {
    status: 503,
    message: 'The database is not reachable.',
    hint: "Check DATABASE_URL and the database server's status.",
  },
  method_not_allowed: {
    status: 405,
    message: 'This method is not allowed on this route.',
    hint: 'See GET /openapi.json for the routes and methods.',
  },
  internal_error: {
    status: 500,
    message: 'Internal error.',
    hint: "Check the site's logs.",
  },

  // --- template site: issue 10 (atomic write) and issue 12 (template hardening) --------------------
  mixed_key_modes: {
    status: 400,
    message: 'The write would leave a publishable key and a secret key of different modes (test/live).',
    hint: 'Send a matching pair in one PUT /api/export/settings: pk_test_ with sk_test_, or pk_live_ with sk_live_.',
  },
  checkout_host_not_allowed: {
    status: 400,
    message: "Checkout's return URLs cannot be built: PUBLIC_URL is not set and this Host is not allowed.",
    hint: "Set PUBLIC_URL to the site's public base URL (https://shop.example.fr), or list the host in TEMPLATE_ALLOWED_HOSTS.",
  },
  rate_limited: {
    status: 429,
    message: 'Too many requests from this address.',
    hint: 'Wait for Retry-After seconds before trying again.',
    retryable: true,
  },

  // --- dashboard answers (keyfleet dashboard: /api/admin/*, /api/sites/*) ------------------------
  unauthorized: {
    status: 401,
    message: 'Authentication required.',
    hint: 'Log in to the dashboard, or send Authorization: Bearer <KEYFLEET_ADMIN_TOKEN>.',
  },
  invalid_password: {
    status: 401,
    message: 'Wrong password.',
    hint: 'Use the value of KEYFLEET_ADMIN_PASSWORD the dashboard was started with.',
  },
  csrf_failed: {
    status: 403,
    message: 'The request carries no valid CSRF token, or comes from another origin.',
    hint: 'Send the csrf_token of POST /api/admin/login (or GET /api/admin/session) in X-CSRF-Token or the _csrf form field.',
  },
  site_not_found: {
    status: 404,
    message: 'No site with this id or name.',
    hint: 'List the sites with GET /api/admin/sites.',
  },
  site_exists: {
    status: 409,
    message: 'A site with this URL or name already exists.',
    hint: 'Change the existing site (PATCH /api/admin/sites/:id) or choose another name.',
  },
  invalid_site_url: {
    status: 400,
    message: 'The site URL cannot be used.',
    hint: "Give the site's base URL, e.g. https://shop.example.fr: https://, no /api path, query or user:pass@.",
  },
  run_not_found: {
    status: 404,
    message: 'No run with this id.',
    hint: 'List the runs with GET /api/admin/runs.',
  },
  run_state_conflict: {
    status: 409,
    message: 'The run is not in a state that allows this.',
    hint: 'Resume only an interrupted or cancelled run; confirm only a finished dry run; retry only a finished run.',
  },
  no_desired_keys: {
    status: 409,
    message: 'No key version is desired for some of the sites.',
    hint: 'Add keys first: POST /api/admin/keys makes a new version the fleet default.',
  },
  invalid_keys: {
    status: 400,
    message: 'The keys are not valid.',
    hint: 'Copy each key whole from https://dashboard.stripe.com/apikeys; do not mix test and live keys.',
  },
  key_version_not_found: {
    status: 404,
    message: 'No key version with this id.',
    hint: 'List the versions with GET /api/admin/keys.',
  },
  invalid_registration_token: {
    status: 401,
    message: 'The registration token is not valid.',
    hint: "Send Authorization: Bearer <KEYFLEET_REGISTRATION_TOKEN>, the dashboard's value, without whitespace.",
  },
  registration_disabled: {
    status: 403,
    message: 'Self-registration is disabled on this dashboard.',
    hint: 'Set KEYFLEET_REGISTRATION_TOKEN on the dashboard, or add the site with POST /api/admin/sites.',
  },

  // --- issue 12 (hardening): registration, approval, api_key_env --------------------------------
  registration_host_refused: {
    status: 403,
    message: 'The site URL points at a private, loopback, link-local or cloud metadata address.',
    hint: 'Register the public https:// URL of the site, or ask the operator to add the host to KEYFLEET_REGISTRATION_ALLOWED_HOSTS.',
  },
  current_key_required: {
    status: 409,
    message: 'This site is registered already; registering it again needs its current API key.',
    hint: "Send the site's current key as current_api_key (its own key, or TEMPLATE_MASTER_API_KEY when it has none), or ask an admin to change the site.",
  },
  too_many_registrations: {
    status: 429,
    message: 'Too many registrations from this address, or on this dashboard, in the last minute.',
    hint: 'Wait for Retry-After seconds, then register again.',
    retryable: true,
  },
  site_pending: {
    status: 409,
    message: 'The site registered itself and waits for an admin: nothing is sent to it until it is approved.',
    hint: 'Approve it: keyfleet sites approve <id>, POST /api/admin/sites/:id/approve, or Approve in the Sites page.',
  },
  api_key_env_refused: {
    status: 400,
    message: 'api_key_env may only name a variable starting with KEYFLEET_SITE_KEY_.',
    hint: "Put the site's key in a variable such as KEYFLEET_SITE_KEY_SHOP and name that; keyfleet's own secrets are never sent to a site.",
  },
  drift: {
    status: 409,
    message: 'The site does not hold its desired keys.',
    hint: 'Reconcile: POST /api/admin/runs {"drifted_only":true} pushes to drifted sites only.',
  },
  site_request_failed: {
    status: 502,
    message: 'The site did not accept the request.',
    hint: 'The message names the failure; keyfleet doctor <url> checks the site step by step.',
  },
  doctor_running: {
    status: 409,
    message: 'A doctor is already running on this site.',
    hint: 'Wait for it to finish (at most KEYFLEET_DOCTOR_TIMEOUT_S plus one request timeout), then run it again.',
  },
  no_sites_selected: {
    status: 400,
    message: 'The selection matches no site.',
    hint: 'Choose sites by id or name, or tags that sites carry (GET /api/admin/sites).',
  },

  // --- client side: how a failed request to a site is classified ---------------------------------
  timeout: {
    message: 'The site did not answer within the timeout.',
    hint: 'Raise --timeout (e.g. 30) and check the site under load: time curl -I <site>.',
    retryable: true,
  },
  connection_refused: {
    message: 'The connection was refused.',
    hint: 'Check the app server is running and the URL/port is right: curl -I <site>.',
    retryable: true,
  },
  connection_reset: {
    message: 'The connection was reset.',
    hint: 'The app server or a proxy dropped the connection; check its logs and restart it if needed.',
    retryable: true,
  },
  dns_not_found: {
    message: 'The host name does not resolve.',
    hint: 'Check the domain with dig <host>; DNS changes can take 24-48 hours to propagate.',
  },
  tls_error: {
    message: 'The TLS certificate could not be verified.',
    hint: 'Check the chain and dates: openssl s_client -connect <host>:443 -servername <host>.',
  },
  endpoint_not_found: {
    message: 'The site answered 404 for a keyfleet route.',
    hint: 'The site does not run the template (or an old version): check the URL and the deployed branch.',
  },
  bad_gateway: {
    message: 'The site answered 502 Bad Gateway.',
    hint: 'The application server behind the proxy is down: check systemctl status / logs, restart it.',
    retryable: true,
  },
  service_unavailable: {
    message: 'The site answered 503 Service Unavailable.',
    hint: 'The site is overloaded or its database is down: check /api/health, retry off-peak.',
    retryable: true,
  },
  gateway_timeout: {
    message: 'The site answered 504 Gateway Timeout.',
    hint: 'The application server is too slow behind its proxy: check its resources and logs.',
    retryable: true,
  },
  server_error: {
    message: 'The site answered with a server error.',
    hint: "Check the site's application logs for the stack trace.",
  },
  unexpected_response: {
    message: 'The site answered, but not with the documented JSON.',
    hint: 'Something else answers at this URL (a proxy page, an old app): curl -v the route and check.',
  },
  verify_mismatch: {
    message: 'The site said OK but does not hold the pushed key.',
    hint: 'An environment variable or a cache may shadow the pushed value: check source in /api/health/stripe.',
  },
  too_many_open_files: {
    message: 'This machine ran out of file descriptors (EMFILE).',
    hint: 'Raise the limit (ulimit -n 65536) or lower --concurrency, then: keyfleet push --retry-failed <run-id>.',
  },
  secret_not_in_vault: {
    message: 'This secret cannot be restored: keyfleet never pushed it, so it has no copy.',
    hint: 'Push the secret again from its source (STRIPE_SECRET_KEY); only publishable keys and prices can be restored from a backup alone.',
  },
  no_api_key: {
    message: 'No API key is configured for this site.',
    hint: "Set TEMPLATE_MASTER_API_KEY, or the site's api_key_env variable in the YAML inventory.",
  },
  insecure_url: {
    message: 'The URL uses plain http:// to a non-loopback host.',
    hint: 'Use https://, or pass --allow-http if you accept sending keys in clear text.',
  },

  // --- doctor: what `keyfleet doctor` finds beyond one request's failure ---------------------------
  invalid_url: {
    message: 'The site URL is not a base URL keyfleet can use.',
    hint: "Give the site's base URL with its scheme, e.g. https://your-site.example.fr: no /api suffix, query or user:pass@ (keyfleet adds /api/… itself).",
  },
  dns_resolver_failed: {
    message: 'The DNS resolver did not answer (this is not an NXDOMAIN: the name may well exist).',
    hint: 'Check that your DNS server is working (nslookup <host>, /etc/resolv.conf), then run doctor again.',
  },
  certificate_expired: {
    message: "The site's TLS certificate has expired.",
    hint: 'Renew the certificate and reload the server; check the dates with: echo | openssl s_client -servername <host> -connect <host>:443 2>/dev/null | openssl x509 -noout -dates.',
  },
  certificate_expiring: {
    message: "The site's TLS certificate expires in less than 14 days.",
    hint: 'Renew it now (check the dates with: echo | openssl s_client -servername <host> -connect <host>:443 2>/dev/null | openssl x509 -noout -dates).',
  },
  proxy_error: {
    message: 'The proxy from HTTPS_PROXY/HTTP_PROXY did not open a connection to the site.',
    hint: 'Test the proxy with curl -x <proxy> -I <site>, fix it, or exempt the site with NO_PROXY.',
  },
  redirects_to_http: {
    message: 'The site redirects to plain http://.',
    hint: 'Serve the site over https:// end to end (fix the redirect in its proxy): keys must never travel in clear text.',
  },
  site_redirects: {
    message: "The site's base URL redirects to another address.",
    hint: 'Put the final URL (the Location shown by curl -I <site>) in the sites file.',
  },
  cors_header_missing: {
    message: 'GET /api/stripe-pk answers without Access-Control-Allow-Origin.',
    hint: 'Pages on other origins cannot read the key: serve /api/stripe-pk with Access-Control-Allow-Origin: * (check that a proxy does not strip it).',
  },
  secret_key_missing: {
    message: 'The site has no Stripe secret key (/api/health/stripe: secret_key_configured is false).',
    hint: 'Push it: keyfleet push --only sk, with STRIPE_SECRET_KEY set on the dashboard.',
  },
  mode_mismatch: {
    message: "The site's publishable and secret keys are not in the same mode (test/live).",
    hint: 'Do not mix test and live keys: push a matching pair (pk_test_ with sk_test_, or pk_live_ with sk_live_).',
  },
  env_shadowing: {
    message: 'An environment variable on the site is in effect instead of the pushed key.',
    hint: "Remove the variable (STRIPE_SECRET_KEY, …) from the site's .env or server environment, restart it and push again; /api/health/stripe shows source: env until then.",
  },
  env_shadowed: {
    message: 'The pushed key hides a different value in an environment variable on the site.',
    hint: "Update or remove the stale variable in the site's .env or server environment, so that losing the database cannot bring the old key back.",
  },
  slow_response: {
    message: 'The site answers, but close to the --timeout.',
    hint: "Raise --timeout (e.g. 30) and check the site's resources: time curl -I <site>.",
  },
  // --- issue 9 (seed protocol), issue 10 (atomic write), issue 11 (CLI canary) — helper `seed` ------
  restricted_key_unsupported: {
    message: 'This site runs the original template, which refuses restricted keys (rk_…): nothing was sent to it.',
    hint: 'Push a standard secret key (sk_…) to seed sites, or upgrade the site to the keyfleet template, which accepts rk_ keys.',
  },
  seed_secret_not_restorable: {
    message: "This site's previous secret key is unknown: the original template never reveals it, and keyfleet did not push it.",
    hint: 'Push the previous secret again from its source (keyfleet push --only sk with STRIPE_SECRET_KEY set to it); the publishable key and price were restored.',
  },
  settings_exposed: {
    message: 'GET /api/export/settings shows export_api_key or a secret-looking value to anyone: whoever reads it can write this site\'s settings.',
    hint: "Delete the export_api_key row from the site's settings table (and any secret stored under a non-stripe name), rotate TEMPLATE_MASTER_API_KEY, and block GET /api/export/settings at the proxy, or upgrade to the keyfleet template.",
  },
  stale_cache: {
    message: "Repeated reads of /api/stripe-pk disagree: some of the site's workers still serve a cached value.",
    hint: 'The original template caches settings per worker for up to 5 minutes (SETTINGS_CACHE_TTL): wait, then run keyfleet verify --wait 300, or restart the site.',
  },
  not_yet_verified: {
    message: 'Written, but not every read returned the new value yet.',
    hint: "The site's workers cache settings for up to 5 minutes: run keyfleet verify --wait 300 to see every worker serve it.",
  },
  seed_template: {
    message: 'This site runs the original template: it has no /api/health or authenticated /api/health/stripe, so secrets cannot be proven by fingerprint.',
    hint: 'keyfleet works with it as it is (the seed protocol); upgrade to the keyfleet template for fingerprint proof and atomic writes.',
  },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof entries;
export const ERROR_CATALOG: Readonly<Record<ErrorCode, CatalogEntry>> = entries;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(entries, code);
}

/** CLI exit codes (DESIGN.md §2). */
export const EXIT = {
  ok: 0,
  someFailed: 1,
  usage: 2,
  halted: 3,
  cancelled: 130,
} as const;
