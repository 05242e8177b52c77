import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SESSION_COOKIE } from '../../protocol/dashboard-routes.js';
import type { DashboardSessionStore } from '../../store/dashboard-sessions.js';

/**
 * Admin sessions, kept in the state database (`StateStore.sessions`), so a restart keeps admins
 * logged in and every dashboard on one Postgres knows the same sessions: each lookup reads the
 * store, so a logout on one is a logout on all. The cookie carries a random 32-byte id; the store
 * keeps only its SHA-256. Each session has its own CSRF token (synchronizer token): every
 * state-changing request made with the cookie must carry it, in X-CSRF-Token or the `_csrf` form
 * field. The token is an HMAC of the session id, so it is the same after a restart (GET
 * /api/admin/session hands it to a reloaded page) without being stored anywhere.
 */
export interface Session {
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly address: string | null;
  /** Who logged in (`admin`). */
  readonly actor: string;
}

/**
 * Session ids end with a tag bound to the admin password (`<random>.<tag>`): a session made under
 * another password (the dashboard restarted with a changed KEYFLEET_ADMIN_PASSWORD) no longer
 * matches its tag and is ended at its next use. Same password → same epoch → sessions survive.
 */
const tagOf = (epoch: Buffer, raw: string) =>
  createHmac('sha256', epoch).update(raw, 'utf8').digest('base64url').slice(0, 22);

const digest = (id: string) => createHash('sha256').update(id, 'utf8').digest('hex');
const csrfFor = (id: string) =>
  createHmac('sha256', id).update('keyfleet dashboard csrf token', 'utf8').digest('base64url');
const iso = (ms: number) => new Date(ms).toISOString();

/** last_seen_at is moved forward at most this often: a page polling every second costs no write per poll. */
const TOUCH_EVERY_MS = 60_000;

export class SessionStore {
  constructor(
    private readonly store: DashboardSessionStore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    /** config.sessionEpoch: derived from the admin password; null keeps ids untagged. */
    private readonly epoch: Buffer | null = null,
  ) {}

  /** A new session; the returned id goes into the cookie and nowhere else. */
  async create(address: string, actor = 'admin'): Promise<{ id: string; session: Session }> {
    await this.prune();
    const t = this.now();
    const raw = randomBytes(32).toString('base64url');
    const id = this.epoch ? `${raw}.${tagOf(this.epoch, raw)}` : raw;
    await this.store.create({
      id_hash: digest(id),
      actor,
      address,
      created_at: iso(t),
      expires_at: iso(t + this.ttlMs),
      last_seen_at: iso(t),
    });
    return { id, session: { csrfToken: csrfFor(id), createdAt: t, address, actor } };
  }

  /** The session the cookie names, unless it ended (logout, expiry: an expired one is deleted). */
  async get(id: string | undefined): Promise<Session | undefined> {
    if (!id || id.length > 100) return undefined;
    const key = digest(id);
    const row = await this.store.find(key);
    if (!row) return undefined;
    const t = this.now();
    if (t >= Date.parse(row.expires_at) || !this.tagged(id)) {
      await this.store.delete(key);
      return undefined;
    }
    if (t - Date.parse(row.last_seen_at) >= TOUCH_EVERY_MS) await this.store.touch(key, iso(t));
    return {
      csrfToken: csrfFor(id),
      createdAt: Date.parse(row.created_at),
      address: row.address,
      actor: row.actor,
    };
  }

  /** True when the id was made under the current admin password. */
  private tagged(id: string): boolean {
    if (!this.epoch) return true;
    const dot = id.lastIndexOf('.');
    if (dot <= 0) return false;
    const want = Buffer.from(tagOf(this.epoch, id.slice(0, dot)));
    const got = Buffer.from(id.slice(dot + 1));
    return got.length === want.length && timingSafeEqual(got, want);
  }

  async destroy(id: string | undefined): Promise<void> {
    if (id) await this.store.delete(digest(id));
  }

  /** Deletes every expired session (at each login, and when the dashboard starts). */
  async prune(): Promise<number> {
    return this.store.deleteExpired(iso(this.now()));
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: Session, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length === 0) return false;
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(session.csrfToken, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The value of one cookie in a Cookie header (RFC 6265 pairs separated by `;`). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The session cookie's name: `__Host-kf_session` when it is Secure (https), so no sibling subdomain
 * can set or shadow it; plain `kf_session` over http (loopback development).
 */
export function sessionCookieName(secure: boolean): string {
  return secure ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE;
}

/** The session id of a request: over https only the `__Host-` cookie counts. */
export function sessionIdOf(header: string | undefined, secure: boolean): string | undefined {
  return readCookie(header, sessionCookieName(secure));
}

/** A Set-Cookie value: always HttpOnly, SameSite=Strict and Path=/; Secure when asked. */
export function sessionCookie(
  name: string,
  value: string,
  opts: { secure: boolean; maxAgeSeconds: number },
): string {
  const parts = [
    `${name}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${opts.maxAgeSeconds}`,
  ];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}
