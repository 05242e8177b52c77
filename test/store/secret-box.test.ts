import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/keys/secret-box.js';
import { makeKey } from '../helpers/keys.js';

const newKey = () => randomBytes(32).toString('base64');
const SECRET = makeKey('sk', 'live', 44);

/** Flips one bit of one base64url part of a sealed value (0 = iv, 1 = tag, 2 = ciphertext). */
function tamper(sealed: string, part: 0 | 1 | 2): string {
  const parts = sealed.slice(SecretBox.PREFIX.length).split(':');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[0] = bytes[0]! ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return SecretBox.PREFIX + parts.join(':');
}

describe('SecretBox', () => {
  it('round-trips a secret and never stores it in clear', () => {
    const box = SecretBox.fromBase64(newKey());
    const sealed = box.seal(SECRET);
    expect(SecretBox.isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain(SECRET.slice(8));
    expect(box.open(sealed)).toBe(SECRET);
    // A fresh IV per seal: equal secrets do not produce equal ciphertexts.
    expect(box.seal(SECRET)).not.toBe(sealed);
  });

  it('round-trips empty and non-ASCII values', () => {
    const box = SecretBox.fromBase64(newKey());
    for (const value of ['', 'clé-ünïcødé-🔑']) expect(box.open(box.seal(value))).toBe(value);
  });

  it("throws 'decryption failed' for the wrong key", () => {
    const sealed = SecretBox.fromBase64(newKey()).seal(SECRET);
    expect(() => SecretBox.fromBase64(newKey()).open(sealed)).toThrow(/^decryption failed$/);
  });

  it.each([0, 1, 2] as const)("throws 'decryption failed' when part %i is tampered with", (part) => {
    const box = SecretBox.fromBase64(newKey());
    expect(() => box.open(tamper(box.seal(SECRET), part))).toThrow(/^decryption failed$/);
  });

  it("throws 'decryption failed' for a truncated value, and refuses plaintext", () => {
    const box = SecretBox.fromBase64(newKey());
    const sealed = box.seal(SECRET);
    expect(() => box.open(sealed.slice(0, sealed.lastIndexOf(':')))).toThrow(/^decryption failed$/);
    expect(() => box.open(SECRET)).toThrow('value is not encrypted');
  });

  it.each([
    ['too short', randomBytes(16).toString('base64'), 16],
    ['too long', randomBytes(48).toString('base64'), 48],
    ['not base64', '!'.repeat(44), 0],
  ])('rejects a key that is %s with a message naming the variable and the fix', (_label, key, bytes) => {
    expect(() => SecretBox.fromBase64(key, 'TEMPLATE_ENCRYPTION_KEY')).toThrow(
      `TEMPLATE_ENCRYPTION_KEY must be 32 bytes encoded in base64 (got ${bytes} bytes). Generate one with: openssl rand -base64 32`,
    );
  });

  it('accepts a key with surrounding whitespace (as pasted into an env file)', () => {
    const key = newKey();
    const sealed = SecretBox.fromBase64(key).seal(SECRET);
    expect(SecretBox.fromBase64(`  ${key}\n`).open(sealed)).toBe(SECRET);
  });
});
