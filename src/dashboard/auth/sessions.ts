import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Admin sessions, in memory: a restart logs everyone out, which is the safe failure. The cookie
 * carries a random 32-byte id; the map is keyed by its SHA-256, so the ids themselves are not
 * kept. Each session has its own CSRF token (synchronizer token): every state-changing request
 * made with the cookie must carry it, in X-CSRF-Token or the `_csrf` form field.
 */
export interface Session {
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly address: string;
}

const digest = (id: string) => createHash('sha256').update(id, 'utf8').digest('hex');

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session; the returned id goes into the cookie and nowhere else. */
  create(address: string): { id: string; session: Session } {
    this.prune();
    const id = randomBytes(32).toString('base64url');
    const session = { csrfToken: randomBytes(32).toString('base64url'), createdAt: this.now(), address };
    this.sessions.set(digest(id), session);
    return { id, session };
  }

  get(id: string | undefined): Session | undefined {
    if (!id || id.length > 100) return undefined;
    const key = digest(id);
    const s = this.sessions.get(key);
    if (s && this.now() - s.createdAt >= this.ttlMs) {
      this.sessions.delete(key);
      return undefined;
    }
    return s;
  }

  destroy(id: string | undefined): void {
    if (id) this.sessions.delete(digest(id));
  }

  get size(): number {
    return this.sessions.size;
  }

  private prune(): void {
    const t = this.now();
    for (const [k, s] of this.sessions) if (t - s.createdAt >= this.ttlMs) this.sessions.delete(k);
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
