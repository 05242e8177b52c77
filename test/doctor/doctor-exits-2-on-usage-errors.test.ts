import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { check, cleanupScratch, runDoctor, scratchPath, type SiteJson } from './doctor-fixtures.js';

/**
 * Exit 2 is for what the operator typed (nothing was sent): no site, a site and a file, bad numbers,
 * an unreadable CA file, a sites file with mistakes. A single URL with a mistake in it is not a usage
 * error but the ladder's first check: invalid_url / insecure_url, exit 1, and no connection made.
 */
afterAll(() => cleanupScratch());

describe('usage errors exit 2', () => {
  it.each([
    ['no site', [], /no site to examine/],
    ['a URL and a sites file', ['https://a.example', '--sites-file', 'x.txt'], /not both/],
    ['a bad --timeout', ['https://a.example', '--timeout', '0'], /--timeout is in seconds/],
    [
      'a bad --concurrency',
      ['https://a.example', '--concurrency', 'many'],
      /--concurrency must be a whole number/,
    ],
    [
      'a missing --ca-file',
      ['https://a.example', '--ca-file', '/nonexistent/ca.pem'],
      /cannot read --ca-file/,
    ],
    ['a missing sites file', ['--sites-file', '/nonexistent/sites.txt'], /not found/],
  ])('%s', async (_name, args, message) => {
    const r = await runDoctor(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('a --ca-file that is not a certificate', async () => {
    const path = scratchPath('not-a-cert.pem');
    writeFileSync(path, 'hello\n');
    const r = await runDoctor(['https://a.example', '--ca-file', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a PEM certificate');
  });

  it('a sites file with an /api URL in it, naming the line', async () => {
    const path = scratchPath('sites.txt');
    writeFileSync(path, 'https://ok.example\nhttps://shop.example/api\n');
    const r = await runDoctor(['--sites-file', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('sites.txt:2');
    expect(r.stderr).toContain('remove the /api suffix');
  });
});

describe('a mistaken URL is the first check of the ladder', () => {
  it('invalid_url for a trailing /api, every other check skipped', async () => {
    const r = await runDoctor(['https://shop.example.invalid/api', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as SiteJson;
    expect(check(report, 'url').status).toBe('fail');
    expect(check(report, 'url').detail).toContain('remove the /api suffix');
    expect(
      report.checks.slice(1).every((c) => c.status === 'skip' && c.detail === 'not run: url failed'),
    ).toBe(true);
    expect(report.diagnosis).toMatchObject({
      code: 'invalid_url',
      reproduce: "curl -sS -I 'https://shop.example.invalid/api'",
    });
  });

  it('invalid_url for https:// on the http port', async () => {
    const report = JSON.parse(
      (await runDoctor(['https://shop.example.invalid:80', '--json'])).stdout,
    ) as SiteJson;
    expect(check(report, 'url').detail).toBe(
      'https:// on port 80, the http port: write http://shop.example.invalid or drop the port',
    );
    expect(report.diagnosis?.code).toBe('invalid_url');
  });

  it('insecure_url for plain http:// off loopback, unless --allow-http (then a warning)', async () => {
    const refused = JSON.parse(
      (await runDoctor(['http://shop.example.invalid', '--json'])).stdout,
    ) as SiteJson;
    expect(refused.diagnosis?.code).toBe('insecure_url');
    expect(check(refused, 'dns').status).toBe('skip');

    const allowed = JSON.parse(
      (await runDoctor(['http://shop.example.invalid', '--allow-http', '--json'])).stdout,
    ) as SiteJson;
    expect(check(allowed, 'url').status).toBe('warn');
    // Allowed, so the ladder goes on, and stops at the name that does not exist.
    expect(check(allowed, 'dns')).toMatchObject({ status: 'fail' });
    expect(allowed.diagnosis?.code).toBe('dns_not_found');
  });
});
