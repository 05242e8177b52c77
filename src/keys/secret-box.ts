import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM encryption at rest for secrets. Stored form: `enc:v1:<iv>:<tag>:<ciphertext>`
 * (base64url parts). A wrong key fails authentication and throws — it never yields garbage.
 *
 * @example const box = SecretBox.fromBase64(process.env.TEMPLATE_ENCRYPTION_KEY!);
 *          box.open(box.seal('sk_test_…')) === 'sk_test_…'
 */
export class SecretBox {
  static readonly PREFIX = 'enc:v1:';

  private constructor(private readonly key: Buffer) {}

  /** Throws a message naming the variable when the key is not 32 bytes of base64. */
  static fromBase64(encoded: string, varName = 'the encryption key'): SecretBox {
    const key = Buffer.from(encoded.trim(), 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded.trim())) {
      throw new Error(
        `${varName} must be 32 bytes encoded in base64 (got ${key.length} bytes). Generate one with: openssl rand -base64 32`,
      );
    }
    return new SecretBox(key);
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(SecretBox.PREFIX);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return `${SecretBox.PREFIX}${iv.toString('base64url')}:${tag.toString('base64url')}:${ct.toString('base64url')}`;
  }

  /** Throws `Error('decryption failed')` for a wrong key or a tampered value. */
  open(stored: string): string {
    if (!SecretBox.isSealed(stored)) throw new Error('value is not encrypted');
    const [iv, tag, ct] = stored.slice(SecretBox.PREFIX.length).split(':');
    if (iv === undefined || tag === undefined || ct === undefined) throw new Error('decryption failed');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('decryption failed');
    }
  }
}
