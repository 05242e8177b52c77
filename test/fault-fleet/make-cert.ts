import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test certificates made with the openssl CLI at run time (no key material in the repository): a
 * private CA and a leaf for 127.0.0.1/localhost it signs, with a chosen validity. Tests trust the CA
 * through the site client's `ca` option, so the only thing wrong with an expired leaf is its date;
 * `selfSigned` makes a leaf that is its own issuer (what a forgotten dev cert looks like).
 *
 * @example
 * const { ca, cert, key } = makeCert({ days: 3 });          // valid, expires in 3 days
 * const old = makeCert({ expired: true });                   // notAfter yesterday
 */
export interface CertOptions {
  /** Validity of the leaf from now, in days (default 30). Ignored when `expired`. */
  days?: number;
  /** The leaf's notAfter is one day in the past. */
  expired?: boolean;
  /** Names the leaf is valid for (default localhost and 127.0.0.1). */
  hosts?: readonly string[];
  /** The leaf signs itself; `ca` is then the leaf itself. */
  selfSigned?: boolean;
}

export interface CertBundle {
  /** PEM of the issuing CA (the leaf itself when self-signed). */
  ca: string;
  /** PEM of the leaf. */
  cert: string;
  /** PEM of the leaf's private key. */
  key: string;
  notAfter: Date;
}

// P-256 keys: generated in milliseconds, unlike RSA, so every test file can make its own.
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeCert(options: CertOptions = {}): CertBundle {
  const hosts = options.hosts ?? ['localhost', '127.0.0.1'];
  const days = options.expired ? -1 : (options.days ?? 30);
  const san = hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`)).join(',');
  const dir = mkdtempSync(join(tmpdir(), 'keyfleet-cert-'));
  const file = (name: string) => join(dir, name);
  const openssl = (args: string[]) =>
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  try {
    if (options.selfSigned) {
      openssl([
        'req',
        '-x509',
        ...EC_KEY,
        '-keyout',
        file('leaf.key'),
        '-out',
        file('leaf.pem'),
        '-days',
        String(days),
        '-subj',
        `/CN=${hosts[0] ?? 'localhost'}`,
        '-addext',
        `subjectAltName=${san}`,
      ]);
      const cert = readFileSync(file('leaf.pem'), 'utf8');
      return { ca: cert, cert, key: readFileSync(file('leaf.key'), 'utf8'), notAfter: notAfter(cert) };
    }
    openssl([
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
      '-days',
      '3650',
      '-subj',
      '/CN=keyfleet test CA',
    ]);
    openssl([
      'req',
      ...EC_KEY,
      '-keyout',
      file('leaf.key'),
      '-out',
      file('leaf.csr'),
      '-subj',
      `/CN=${hosts[0] ?? 'localhost'}`,
    ]);
    writeFileSync(file('leaf.ext'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
    // x509 -req accepts a negative -days: notAfter lands before now, which is what "expired" means.
    openssl([
      'x509',
      '-req',
      '-in',
      file('leaf.csr'),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-set_serial',
      `0x${Date.now().toString(16)}`,
      '-days',
      String(days),
      '-extfile',
      file('leaf.ext'),
      '-out',
      file('leaf.pem'),
    ]);
    const cert = readFileSync(file('leaf.pem'), 'utf8');
    return {
      ca: readFileSync(file('ca.pem'), 'utf8'),
      cert,
      key: readFileSync(file('leaf.key'), 'utf8'),
      notAfter: notAfter(cert),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function notAfter(pem: string): Date {
  return new Date(new X509Certificate(pem).validTo);
}
