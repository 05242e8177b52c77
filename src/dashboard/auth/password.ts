import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * The admin password as a scrypt hash (node:crypto), made once at startup from
 * KEYFLEET_ADMIN_PASSWORD; the clear text is not kept. The variable may also hold a hash in the
 * stored form `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`, so the password itself need not sit in
 * the environment at all.
 *
 * @example const h = hashPassword(pw); await verifyPassword(h, attempt) // true | false
 */
export interface PasswordHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

// N = 2^15, r = 8: ~32 MiB and tens of milliseconds per attempt; the login rate limit does the rest.
const COST = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
const maxmem = (N: number, r: number) => 256 * N * r;

export function hashPassword(password: string): PasswordHash {
  const salt = randomBytes(16);
  const hash = scryptSync(password.normalize('NFC'), salt, KEY_LENGTH, {
    ...COST,
    maxmem: maxmem(COST.N, COST.r),
  });
  return { ...COST, salt, hash };
}

/** Constant-time comparison of an attempt with the hash; never throws on bad input. */
export async function verifyPassword(stored: PasswordHash, attempt: string): Promise<boolean> {
  if (typeof attempt !== 'string' || attempt.length === 0 || attempt.length > 1024) return false;
  const derived = await new Promise<Buffer>((resolve, reject) =>
    scrypt(
      attempt.normalize('NFC'),
      stored.salt,
      stored.hash.length,
      { N: stored.N, r: stored.r, p: stored.p, maxmem: maxmem(stored.N, stored.r) },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
  return timingSafeEqual(derived, stored.hash);
}

export function formatPasswordHash(h: PasswordHash): string {
  return ['scrypt', h.N, h.r, h.p, h.salt.toString('base64'), h.hash.toString('base64')].join('$');
}

/** The stored form back to a hash; null when `value` is not one (then it is a password). */
export function parsePasswordHash(value: string): PasswordHash | null {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(value);
  if (!m) return null;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = Buffer.from(m[4] ?? '', 'base64');
  const hash = Buffer.from(m[5] ?? '', 'base64');
  // N a power of two ≥ 2^14 and a 16+ byte salt: a weaker hash is refused rather than trusted.
  if (N < 2 ** 14 || (N & (N - 1)) !== 0 || r < 1 || p < 1 || salt.length < 16 || hash.length < 16)
    return null;
  return { N, r, p, salt, hash };
}

/**
 * A key that changes when the admin password changes, the same across restarts: session ids carry
 * a tag made with it (sessions.ts), so a new password ends every session made under the old one. It
 * is an scrypt of the password (or of the `scrypt$…` string given instead) with a fixed salt, so a
 * tag seen in a cookie is as slow to guess from as the password hash itself. Kept in memory only.
 */
export function sessionEpoch(passwordOrHash: string): Buffer {
  return scryptSync(passwordOrHash.normalize('NFC'), 'keyfleet dashboard session epoch v1', 32, {
    ...COST,
    maxmem: maxmem(COST.N, COST.r),
  });
}
