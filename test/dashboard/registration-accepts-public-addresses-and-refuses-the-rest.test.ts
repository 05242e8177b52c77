import { describe, expect, it } from 'vitest';
import { refusedAddress } from '../../src/dashboard/fleet/registration-hosts.js';

// Issue 12: private, loopback, link-local and metadata addresses are refused in every spelling; a
// public address is not (an IPv4-mapped rule once matched every IPv4 address, refusing real sites).
describe('which addresses may register', () => {
  it.each(['93.184.216.34', '8.8.8.8', '::ffff:93.184.216.34', '2606:4700::1111'])('%s is public', (a) => {
    expect(refusedAddress(a)).toBeNull();
  });

  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:a9fe:a9fe',
  ])('%s is refused', (a) => {
    expect(refusedAddress(a)).toMatch(/is not a public address/);
  });
});
