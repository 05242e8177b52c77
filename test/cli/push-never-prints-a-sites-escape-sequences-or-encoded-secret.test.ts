import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeSite, send, startServer, type FaultServer } from '../fault-fleet/index.js';
import { makeKey } from '../helpers/keys.js';
import { runCli, scratch } from '../helpers/run-cli.js';

const API_KEY = `site-key-${'k'.repeat(32)}`;

/** Escape sequences a hostile site sends: a forged green "ok" line, then an OSC 52 clipboard write. */
const FORGED = `\r\x1b[2K\x1b[32mok        https://shop.example.fr\x1b[0m\n\x1b]52;c;cm0gLXJmIH4K\x07`;

/** `keyfleet push --only sk` to the one site at `url`: its exit code and all it printed. */
async function pushSecretTo(url: string, tmp: ReturnType<typeof scratch>, sk: string) {
  writeFileSync(tmp.path('sites.txt'), `${url}\n`);
  const r = await runCli(
    [
      'push',
      '--sites-file',
      tmp.path('sites.txt'),
      '--yes',
      '--canary',
      '0',
      '--retries',
      '0',
      '--only',
      'sk',
    ],
    {
      env: { KEYFLEET_DB: tmp.db, TEMPLATE_MASTER_API_KEY: API_KEY, STRIPE_SECRET_KEY: sk, NO_COLOR: '1' },
      timeoutMs: 60_000,
    },
  );
  return { code: r.code, all: r.stdout + r.stderr };
}

/** Nothing of FORGED acts on the terminal: no escape or bell, and the forged line stays inside the failure line. */
function expectNoForgery(all: string): void {
  expect(all).not.toContain('\u001b');
  expect(all).not.toContain('\u0007');
  expect(all).not.toMatch(/^\s*ok\s+https:\/\/shop/m);
}

/**
 * Issue 12, finding 7, through the built CLI: a hostile site answers a PUT with escape sequences
 * (a forged green "ok" line, an OSC 52 clipboard write) and the pushed secret base64-, hex- and
 * URL-encoded. None of it reaches the terminal or the state database.
 */
describe('a push to a hostile site', () => {
  let server: FaultServer;
  const tmp = scratch();
  const sk = makeKey('sk', 'live');
  const encoded = [
    Buffer.from(sk).toString('base64'),
    Buffer.from(sk).toString('base64url'),
    Buffer.from(sk).toString('hex'),
    [...Buffer.from(sk)].map((c) => `%${c.toString(16).padStart(2, '0')}`).join(''),
  ];

  beforeAll(async () => {
    const site = createFakeSite({ apiKey: API_KEY });
    server = await startServer((req, res, ctx) => {
      if (req.method !== 'PUT') return site.handler(req, res, ctx);
      const message = `${FORGED} got ${encoded.join(' ')}`;
      send(res, 400, JSON.stringify({ success: false, error: 'invalid_secret_format', message }));
    });
  });
  afterAll(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('prints the failure with the site text sanitised and the encoded secret masked, and stores no copy', async () => {
    const { code, all } = await pushSecretTo(server.url, tmp, sk);
    expect(code, all).toBe(1);
    expect(all).toMatch(/invalid_secret_format/);
    expectNoForgery(all);
    for (const e of [sk, ...encoded]) expect(all).not.toContain(e);
    const base = tmp.db.slice(dirname(tmp.db).length + 1);
    const files = readdirSync(dirname(tmp.db)).filter((f) => f.startsWith(base));
    const stored = files.map((f) => readFileSync(join(dirname(tmp.db), f)).toString('latin1')).join('\n');
    expect(stored.length).toBeGreaterThan(0);
    // The PUT carried the secret: its failure is stored and printed as code and status only, with
    // none of the site's text (issue 12), so neither the forged line nor an encoded copy is kept.
    expect(stored).toContain('invalid_secret_format');
    expect(stored).not.toContain('shop.example.fr');
    expect(all).not.toContain('shop.example.fr');
    for (const e of encoded) expect(stored).not.toContain(e);
  });
});

describe('a hostile site answering a request that carried no secret', () => {
  let server: FaultServer;
  const tmp = scratch();
  afterAll(async () => {
    await server?.close();
    tmp.cleanup();
  });

  it('keeps its text, with escape sequences and control characters stripped before the terminal', async () => {
    server = await startServer((_req, res) => {
      const message = `${FORGED} oops`;
      send(res, 500, JSON.stringify({ success: false, error: 'server_error', message }));
    });
    const { code, all } = await pushSecretTo(server.url, tmp, makeKey('sk', 'live'));
    expect(code, all).toBe(1);
    expect(all).toContain('oops'); // the site's own words are kept when no secret was sent
    expectNoForgery(all);
  });
});
