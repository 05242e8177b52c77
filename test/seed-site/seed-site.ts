import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A simulator of one site of the original gallery template (a Flask app under gunicorn), built
 * strictly from /work/shared/SEED_TEMPLATE.md: every route, status and body shape it lists, the
 * worker processes that each cache settings up to a TTL (a PUT clears only its own worker's cache),
 * the wrong-key bug that creates an `export_api_key`, the public settings leak, env precedence,
 * and the secret the checkout read at process start. Requests are handed to workers round robin,
 * as gunicorn's workers take connections from one socket.
 *
 * @example
 *   const site = await startSeedSite({ masterKey: 'k', workers: 2, cacheTtlMs: 60_000 });
 *   await fetch(`${site.url}/api/stripe-pk`); // 404 {"message":"no_publishable_key","success":false}
 *   await site.close();
 */
export interface SeedSiteOptions {
  /** TEMPLATE_MASTER_API_KEY. */
  masterKey: string;
  /** gunicorn worker processes, each with its own settings cache (default 2). */
  workers?: number;
  /** SETTINGS_CACHE_TTL in ms (the real app: 300 s). Default 300 000. */
  cacheTtlMs?: number;
  /** The process environment: STRIPE_SECRET_KEY, STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_PUBLISHABLE_KEY. */
  env?: Record<string, string>;
  /** Settings already stored (admin_settings), e.g. an `export_api_key` left by the bug. */
  settings?: Record<string, string>;
  /** Guide step 8: a public GET /api/health/stripe (no authenticated view, no fingerprints). */
  publicHealthStripe?: boolean;
  /** The dashboard asked when no publishable key is stored locally. */
  dashboardUrl?: string;
  siteName?: string;
}

export interface SeedRequest {
  method: string;
  path: string;
  /** Whether an X-API-Key header was sent (never its value). */
  withKey: boolean;
  status: number;
  worker: number;
}

export interface SeedSite {
  url: string;
  /** admin_settings as the database holds it (what every worker reads after its cache expires). */
  readonly settings: Map<string, string>;
  /** Every request answered, in order. */
  readonly requests: SeedRequest[];
  /** The secret the running processes' checkout uses (read at start, env first). */
  checkoutSecret(): string | null;
  /** The secret a new process would use: env first, then the pushed setting. */
  effectiveSecret(): string | null;
  /** Restarts the workers: caches emptied, the checkout re-reads its secret. */
  restart(): void;
  /** Expires every worker's cache now (the TTL elapsed). */
  expireCaches(): void;
  /** Every cached entry expires `ms` from now (the TTL runs out then, whenever it was cached). */
  expireCachesIn(ms: number): void;
  /** Logged lines (the publishable route prints a generated export_api_key, as the real app does). */
  readonly log: string[];
  close(): Promise<void>;
}

const PK = /^pk_(test|live)_[A-Za-z0-9_-]+$/;
const SK = /^sk_(test|live)_[A-Za-z0-9_-]+$/;
const PRICE = /^(price_)?[A-Za-z0-9_]+$/;

/** Flask's jsonify: keys sorted, compact, non-ASCII escaped. */
export function flaskJson(value: Record<string, unknown>): string {
  const sorted = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]))
      : v;
  return JSON.stringify(sorted(value)).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const flaskHtml = (status: number) =>
  status === 404
    ? '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n'
    : '<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n';

export async function startSeedSite(options: SeedSiteOptions): Promise<SeedSite> {
  const workerCount = options.workers ?? 2;
  const ttl = options.cacheTtlMs ?? 300_000;
  const env = options.env ?? {};
  const settings = new Map<string, string>(Object.entries(options.settings ?? {}));
  const caches = Array.from({ length: workerCount }, () => new Map<string, { value: string | undefined; at: number }>());
  const requests: SeedRequest[] = [];
  const log: string[] = [];
  let next = 0;
  const startSecret = () => env.STRIPE_SECRET_KEY ?? env.STRIPE_API_KEY ?? settings.get('stripe_secret_key') ?? null;
  let checkoutSecret = startSecret();

  /** A worker's read of a setting: its cache while fresh, else the database (then cached). */
  function read(worker: number, name: string): string | undefined {
    const cache = caches[worker] as Map<string, { value: string | undefined; at: number }>;
    const hit = cache.get(name);
    if (hit && Date.now() - hit.at < ttl) return hit.value;
    const value = settings.get(name);
    cache.set(name, { value, at: Date.now() });
    return value;
  }

  function write(worker: number, name: string, value: string): void {
    settings.set(name, value);
    caches[worker]?.clear(); // only the worker that handled the PUT forgets what it cached
  }

  function authenticated(worker: number, key: string | undefined): boolean {
    if (key === undefined || key === '') return false;
    if (key === options.masterKey) return true;
    const stored = read(worker, 'export_api_key');
    return stored !== undefined && key === stored;
  }

  /** The bug (SEED_TEMPLATE.md point 1): a wrong key on the pk/secret PUT creates a credential. */
  function createCredentialOnWrongKey(worker: number, route: 'pk' | 'sk'): void {
    if (read(worker, 'export_api_key') !== undefined) return;
    const generated = randomBytes(16).toString('hex');
    write(worker, 'export_api_key', generated);
    if (route === 'pk') log.push(`Generated export_api_key: ${generated}`);
  }

  async function askDashboard(): Promise<string | null> {
    if (!options.dashboardUrl || !options.siteName) return null;
    try {
      const res = await fetch(`${options.dashboardUrl}/api/sites/${encodeURIComponent(options.siteName)}/stripe-key`, { signal: AbortSignal.timeout(6000) });
      if (!res.ok) return null;
      const body = (await res.json()) as { publishable_key?: unknown };
      return typeof body.publishable_key === 'string' ? body.publishable_key : null;
    } catch {
      return null;
    }
  }

  async function handle(req: IncomingMessage, raw: string, worker: number): Promise<[number, string, Record<string, string>?]> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const key = header(req, 'x-api-key');
    const json = (status: number, body: Record<string, unknown>, extra?: Record<string, string>): [number, string, Record<string, string>?] => [status, flaskJson(body), extra];
    const parsed = (): { ok: true; body: unknown } | { ok: false } => {
      try {
        return { ok: true, body: JSON.parse(raw) as unknown };
      } catch {
        return { ok: false };
      }
    };
    const valueOf = (body: unknown): unknown => (body && typeof body === 'object' ? (body as Record<string, unknown>).value : undefined);

    // Not in the page's table: the gallery's own home page, which loads the key from /api/stripe-pk.
    if (path === '/' && method === 'GET') return [200, '<!doctype html>\n<html><title>Gallery</title><script src="/static/checkout.js"></script></html>\n'];
    if (path === '/api/stripe-pk') {
      if (method !== 'GET') return [405, flaskHtml(405)];
      const pk = read(worker, 'stripe_publishable_key') ?? env.STRIPE_PUBLISHABLE_KEY ?? (await askDashboard());
      if (!pk) return json(404, { message: 'no_publishable_key', success: false });
      return json(200, { publishable_key: pk, success: true });
    }
    if (path === '/api/export/stats') {
      if (method !== 'GET') return [405, flaskHtml(405)];
      if (!authenticated(worker, key)) return json(401, { error: 'invalid_api_key', success: false });
      return json(200, { stats: { settings: settings.size, sites: 1 }, success: true, timestamp: new Date().toISOString() });
    }
    if (path === '/api/export/settings') {
      if (method !== 'GET') return [405, flaskHtml(405)];
      const out: Record<string, string> = {};
      for (const name of settings.keys()) {
        if (name === 'stripe_secret_key' || (name.startsWith('stripe') && name.includes('secret'))) continue;
        const value = read(worker, name);
        if (value !== undefined) out[name] = value;
      }
      return json(200, out);
    }
    if (path === '/api/health/stripe' && options.publicHealthStripe && method === 'GET') {
      const pk = read(worker, 'stripe_publishable_key') ?? env.STRIPE_PUBLISHABLE_KEY;
      const sk = env.STRIPE_SECRET_KEY ?? env.STRIPE_API_KEY ?? read(worker, 'stripe_secret_key');
      return json(200, { environment: sk?.includes('_live_') ? 'live' : 'test', publishable_key_configured: Boolean(pk), secret_key_configured: Boolean(sk), success: true });
    }
    const m = /^\/api\/export\/settings\/([^/]+)$/.exec(path);
    if (!m) return [404, flaskHtml(404)];
    const name = decodeURIComponent(m[1] as string);

    if (method === 'GET') {
      if (name === 'stripe_publishable_key') {
        const pk = read(worker, name);
        if (!pk) return json(404, { error: 'not_found', success: false });
        return json(200, { publishable_key: pk, success: true }, { 'access-control-allow-origin': '*' });
      }
      if (name === 'stripe_price_id') {
        const price = read(worker, name);
        if (!price) return json(404, { error: 'not_found', success: false });
        return json(200, { price_id: price, success: true });
      }
      if (name === 'stripe_secret_key') return json(404, { error: 'not_found' });
      return [404, flaskHtml(404)];
    }
    if (method !== 'PUT') return [405, flaskHtml(405)];

    if (name === 'stripe_publishable_key') {
      if (key === undefined) return json(401, { error: 'API key manquante', success: false });
      if (!authenticated(worker, key)) {
        createCredentialOnWrongKey(worker, 'pk');
        return json(403, { error: 'Clé API invalide', success: false });
      }
      const body = parsed();
      if (!body.ok) return json(500, { error: '400 Bad Request: The browser (or proxy) sent a request that this server could not understand.', success: false });
      const value = valueOf(body.body);
      if (value === undefined || value === null || value === '') return json(400, { error: 'Valeur manquante', success: false });
      if (typeof value !== 'string') return json(500, { error: `'${typeof value === 'number' ? 'int' : 'object'}' object has no attribute 'strip'`, success: false });
      if (!PK.test(value)) return json(400, { error: 'invalid_publishable_format', success: false });
      write(worker, name, value);
      return json(200, { message: 'stripe_publishable_key mis à jour', success: true });
    }
    if (name === 'stripe_secret_key') {
      if (!authenticated(worker, key)) {
        if (key !== undefined) createCredentialOnWrongKey(worker, 'sk');
        return json(401, { error: 'invalid_api_key', success: false });
      }
      const body = parsed();
      const value = body.ok ? valueOf(body.body) : undefined;
      if (typeof value !== 'string' || !SK.test(value)) return json(400, { error: 'invalid_secret_format', success: false });
      write(worker, name, value);
      return json(200, { message: 'secret_saved', success: true });
    }
    if (!authenticated(worker, key)) return json(401, { error: 'invalid_api_key', success: false });
    const body = parsed();
    if (name === 'stripe_price_id') {
      if (!body.ok) return json(500, { error: '400 Bad Request: Failed to decode JSON object', success: false });
      const value = valueOf(body.body);
      if (typeof value !== 'string' || !PRICE.test(value)) return json(400, { error: 'invalid_price_id_format', success: false });
      write(worker, name, value);
      return json(200, { message: 'stripe_price_id mis à jour', success: true });
    }
    const value = body.ok ? valueOf(body.body) : undefined;
    if (value === undefined || value === null || value === '') return json(400, { error: 'Missing value' });
    write(worker, name, String(value));
    return json(200, { key: name, ok: true });
  }

  const server: Server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const worker = next++ % workerCount;
      handle(req, Buffer.concat(chunks).toString('utf8'), worker)
        .then(([status, body, extra]) => {
          requests.push({ method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0] ?? '/', withKey: header(req, 'x-api-key') !== undefined, status, worker });
          const type = body.startsWith('<') ? 'text/html; charset=utf-8' : 'application/json';
          res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), server: 'gunicorn', ...extra });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(flaskJson({ error: String(err), success: false }));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    settings,
    requests,
    log,
    checkoutSecret: () => checkoutSecret,
    effectiveSecret: startSecret,
    restart() {
      for (const c of caches) c.clear();
      checkoutSecret = startSecret();
    },
    expireCaches() {
      for (const c of caches) c.clear();
    },
    expireCachesIn(ms: number) {
      const at = Date.now() + ms - ttl;
      for (const c of caches) for (const entry of c.values()) entry.at = at;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
