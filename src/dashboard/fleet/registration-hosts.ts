import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Which hosts a site may register itself under (issue 12). The registration token only lets a site
 * ask to join: a host on KEYFLEET_REGISTRATION_ALLOWED_HOSTS is approved at once (and pushed the
 * keys); any other public host is `pending` until an admin approves it. Loopback, private,
 * link-local, shared (CGNAT), unspecified and cloud metadata addresses are refused outright (403
 * `registration_host_refused`) unless the allow-list names them — whether written as an IP in any
 * form (`127.1`, `0x7f000001`, `[::ffff:a9fe:a9fe]`) or as a name that resolves to one.
 *
 * @example const allowed = parseAllowedHosts('shop.example.com,*.fleet.example.com,127.0.0.1');
 *          hostAllowed('eu.fleet.example.com', allowed) // true
 */
export interface AllowedHosts {
  exact: Set<string>;
  /** `*.example.com` → `.example.com` */
  suffixes: string[];
}

/** Lower case, no trailing dot, IPv6 without brackets: how hosts are compared. */
export function canonicalHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.+$/, '').replace(/^\[(.*)\]$/, '$1');
}

/** KEYFLEET_REGISTRATION_ALLOWED_HOSTS: comma-separated names, IPs and `*.suffix` patterns. */
export function parseAllowedHosts(raw: string | undefined): AllowedHosts {
  const out: AllowedHosts = { exact: new Set(), suffixes: [] };
  for (const entry of (raw ?? '').split(',')) {
    const e = entry.trim();
    if (e === '') continue;
    if (e.startsWith('*.')) out.suffixes.push(`.${canonicalHost(e.slice(2))}`);
    else out.exact.add(canonicalIp(canonicalHost(e)));
  }
  return out;
}

export function hostAllowed(host: string, allowed: AllowedHosts): boolean {
  const h = canonicalIp(canonicalHost(host));
  return allowed.exact.has(h) || allowed.suffixes.some((s) => h.endsWith(s) && h.length > s.length);
}

const refused = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  refused.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127],
  // IPv4-mapped addresses (::ffff:a.b.c.d) are checked as the IPv4 address they carry (mappedIpv4):
  // a ::ffff:0:0/96 rule here would match every IPv4 address, since BlockList maps them to it.
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['fd00:ec2::', 32],
] as const)
  refused.addSubnet(net, bits, 'ipv6');

const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data']);

/** Why an address may not be registered, or null when it is a public address. */
export function refusedAddress(address: string): string | null {
  const a = canonicalHost(address);
  const family = isIP(a);
  if (family === 0) return null;
  const v4 = family === 6 ? mappedIpv4(a) : a;
  const blocked = v4 !== null ? refused.check(v4, 'ipv4') : refused.check(a, 'ipv6');
  return blocked ? `${a} is not a public address` : null;
}

/** The IPv4 address an IPv4-mapped IPv6 address carries (`::ffff:127.0.0.1`, `::ffff:7f00:1`), else null. */
function mappedIpv4(v6: string): string | null {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonicalIp(v6)); // WHATWG-normalised: hex form
  if (!m) return null;
  const [hi, lo] = [parseInt(m[1] as string, 16), parseInt(m[2] as string, 16)];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

/**
 * Null when `host` may register (pending), else why not. A name is resolved once and every address it
 * has must be public; a name that does not resolve may register (it stays pending, so nothing is sent).
 */
export async function refusedHost(host: string, resolve = lookupAll): Promise<string | null> {
  const h = canonicalHost(host);
  if (h === 'localhost' || h.endsWith('.localhost') || METADATA_NAMES.has(h) || h.endsWith('.internal'))
    return `${h} is a local or metadata name`;
  if (isIP(h) !== 0) return refusedAddress(h);
  let addresses: string[];
  try {
    addresses = await resolve(h);
  } catch {
    return null;
  }
  for (const a of addresses) {
    const why = refusedAddress(a);
    if (why) return `${h} resolves to ${a}, which is not a public address`;
  }
  return null;
}

/** Every address of `host`; a resolver that does not answer within 3 s counts as no answer. */
async function lookupAll(host: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error('dns timeout')), 3000);
  });
  try {
    return (await Promise.race([lookup(host, { all: true, verbatim: true }), late])).map((r) => r.address);
  } finally {
    clearTimeout(timer);
  }
}

/** IPv4 in any form the URL parser accepts (`127.1`, `0x7f000001`) as dotted quad; others unchanged. */
export function canonicalIp(host: string): string {
  if (isIP(host) === 6) return new URL(`http://[${host}]`).hostname.slice(1, -1);
  if (/^[0-9a-fx.]+$/i.test(host) && URL.canParse(`http://${host}`)) {
    const parsed = new URL(`http://${host}`).hostname;
    if (isIP(parsed) === 4) return parsed;
  }
  return host;
}
