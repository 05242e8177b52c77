import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/protocol/fingerprint.js';
import { openStateStore } from '../../src/store/open-state-store.js';
import { dropSchema, freshSchemaName, POSTGRES_TEST_URL } from '../helpers/postgres.js';
import { BIN, runCli, scratch, type CliResult } from '../helpers/run-cli.js';

/**
 * `keyfleet sites add|rm|ls|import`, the built CLI on a temp SQLite state database (and once on the
 * Postgres one DATABASE_URL names): the dashboard's URL rules, a site's own key read from the
 * variable --api-key-env names and stored sealed, the audit log, exit 2 with the fix for every
 * refusal — and the key in no output, whatever happened.
 */
describe('keyfleet sites', { timeout: 90_000 }, () => {
  const tmp = scratch();
  const vaultKey = randomBytes(32).toString('base64');
  const shopKey = `shop-${randomBytes(20).toString('hex')}`;
  const blogKey = `blog-${randomBytes(20).toString('hex')}`;
  const me = `cli:${userInfo().username}`;
  const outputs: CliResult[] = [];
  const env = {
    KEYFLEET_DB: tmp.db,
    KEYFLEET_VAULT_KEY: vaultKey,
    SHOP_API_KEY: shopKey,
    BLOG_API_KEY: blogKey,
  };
  const sites = async (args: string[], extra: Record<string, string | undefined> = {}) => {
    const r = await runCli(['sites', ...args], { env: { ...env, ...extra } });
    outputs.push(r);
    return r;
  };
  const listed = async (args: string[] = []) => {
    const r = await sites(['ls', '--json', ...args]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Array<Record<string, unknown> & { id: string; name: string; url: string }>;
  };
  const withStore = async <T>(fn: (s: Awaited<ReturnType<typeof openStateStore>>) => Promise<T>) => {
    const state = await openStateStore({ path: tmp.db, vaultKey });
    try {
      return await fn(state);
    } finally {
      await state.close();
    }
  };

  beforeAll(() => {
    if (!existsSync(join(BIN, '..', '..', 'dist', 'cli', 'commands', 'sites.js')))
      throw new Error('dist/ is missing keyfleet sites: run npm run build first.');
  });
  afterAll(() => tmp.cleanup());

  it('lists nothing, and creates no database, before the first site', async () => {
    const r = await sites(['ls']);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^No sites registered yet/) });
    expect(await listed()).toEqual([]);
    expect(existsSync(tmp.db)).toBe(false);
  });

  it("adds a site with tags and its own key from the environment: sealed, audited, shown as 'yes'", async () => {
    const r = await sites([
      'add',
      ' HTTPS://Shop.Example.fr/ ',
      '--name',
      'shop',
      '--tag',
      'eu',
      '--tag',
      'prod,beta',
      '--api-key-env',
      'SHOP_API_KEY',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^added s_[0-9a-z]{10} {2}shop {2}https:\/\/shop\.example\.fr {2}own API key: yes\n$/,
    );
    const [site] = await listed();
    expect(site).toMatchObject({
      url: 'https://shop.example.fr',
      name: 'shop',
      tags: ['eu', 'prod', 'beta'],
      has_api_key: true,
      source: 'admin',
      added_by: me,
      health: null,
    });
    const table = (await sites(['ls'])).stdout.split('\n');
    expect(table[0]).toMatch(/^ID\s+NAME\s+URL\s+TAGS\s+OWN API KEY\s+STATUS\s+LAST CHECKED \(UTC\)$/);
    expect(table[1]).toMatch(
      /^s_\w+\s+shop\s+https:\/\/shop\.example\.fr\s+eu,prod,beta\s+yes\s+unchecked\s+never$/,
    );

    await withStore(async (state) => {
      expect(await state.fleet.siteApiKey(site!.id)).toBe(shopKey);
      const [entry] = await state.fleet.listAudit();
      expect(entry).toMatchObject({
        actor: me,
        action: 'site.add',
        target: site!.id,
        detail: { url: 'https://shop.example.fr', api_key_fingerprint: fingerprint(shopKey), via: 'cli' },
      });
    });
    const files = readdirSync(tmp.dir).filter((f) => f.startsWith('state.db'));
    for (const f of files) expect(readFileSync(tmp.path(f)).includes(shopKey)).toBe(false);
  });

  it('refuses what the dashboard refuses, with exit 2 and the fix, changing nothing', async () => {
    const refused = async (args: string[], message: RegExp, extra: Record<string, string> = {}) => {
      const r = await sites(args, extra);
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr, args.join(' ')).toMatch(/\n {2}fix: ./);
    };
    await refused(['add', 'http://blog.example.fr'], /http:\/\/ is refused.*--allow-http/);
    await refused(['add', 'https://blog.example.fr/api'], /\/api/);
    await refused(['add', 'blog.example.fr'], /no scheme/);
    await refused(['add', 'https://shop.example.fr/'], /already exists/);
    await refused(['add', 'https://blog.example.fr', '--name', 'shop'], /already exists/);
    await refused(['add', 'https://blog.example.fr', '--tag', 'no spaces'], /Tag "no spaces" is not usable/);
    await refused(['add', 'https://blog.example.fr', '--api-key-env', 'UNSET_KEY'], /UNSET_KEY is not set/);
    await refused(
      ['add', 'https://blog.example.fr', '--api-key-env', 'WEAK'],
      /WEAK does not hold a usable API key/,
      {
        WEAK: 'weak key with spaces 0123456789',
      },
    );
    await refused(
      ['add', 'https://blog.example.fr', '--api-key-env', 'not-a-variable'],
      /name of an environment variable/,
    );
    await refused(['rm', 'nope'], /No registered site "nope"/);
    expect((await sites([])).code).toBe(2);
    expect((await sites(['add'])).code).toBe(2);
    expect((await sites(['frobnicate'])).code).toBe(2);
    expect((await listed()).map((s) => s.name)).toEqual(['shop']);
    expect(outputs.map((o) => o.stdout + o.stderr).join('\n')).not.toContain('weak key with spaces');
  });

  it('adds plain http:// to loopback, or anywhere with --allow-http', async () => {
    expect((await sites(['add', 'http://127.0.0.1:8080', '--name', 'local'])).code).toBe(0);
    expect((await sites(['add', 'http://intranet.example.fr', '--allow-http'])).code).toBe(0);
    expect((await listed()).map((s) => s.url)).toEqual([
      'https://shop.example.fr',
      'http://127.0.0.1:8080',
      'http://intranet.example.fr',
    ]);
  });

  it('lists by tag', async () => {
    expect((await listed(['--tag', 'beta'])).map((s) => s.name)).toEqual(['shop']);
    expect(await listed(['--tag', 'us'])).toEqual([]);
    expect((await sites(['ls', '--tag', 'us'])).stdout).toMatch(/^No registered site has the tag us/);
  });

  it('removes a site by name, by URL as written in a sites file, or by id, and audits it', async () => {
    const before = await listed();
    const id = before.find((s) => s.name === 'intranet.example.fr')!.id;
    expect((await sites(['rm', 'local'])).stdout).toMatch(
      /^removed s_\w+ {2}local {2}http:\/\/127\.0\.0\.1:8080/,
    );
    expect((await sites(['rm', 'HTTPS://shop.example.fr/'])).code).toBe(0);
    expect((await sites(['rm', id])).code).toBe(0);
    expect(await listed()).toEqual([]);
    const removals = await withStore(async (s) =>
      (await s.fleet.listAudit()).filter((a) => a.action === 'site.remove'),
    );
    expect(removals.map((a) => [a.actor, a.detail.name])).toEqual([
      [me, 'intranet.example.fr'],
      [me, 'shop'],
      [me, 'local'],
    ]);
  });

  it("imports the seed's sites file and the YAML inventory with the dashboard's parser", async () => {
    writeFileSync(
      tmp.path('sites.txt'),
      '# fleet\nhttps://a.example.fr\n\nhttps://b.example.fr  # blog\nhttp://c.example.fr\nhttps://a.example.fr/\n',
    );
    const seed = await sites(['import', tmp.path('sites.txt'), '--tag', 'imported']);
    expect(seed.code, seed.stderr).toBe(0);
    expect(seed.stdout).toMatch(
      /^added {4}s_\w+ {2}a\.example\.fr {2}https:\/\/a\.example\.fr {2}own API key: no$/m,
    );
    expect(seed.stdout).toMatch(
      /^skipped {2}http:\/\/c\.example\.fr {2}\(plain http:\/\/ .*--allow-http.*\)$/m,
    );
    expect(seed.stdout).toMatch(/IMPORT RECAP: added=2 skipped=1\n$/);
    expect(seed.stderr).toMatch(/sites\.txt:6: duplicate of .*sites\.txt:2/);

    writeFileSync(
      tmp.path('fleet.yml'),
      [
        'sites:',
        '  - url: https://blog.example.fr',
        '    name: blog',
        '    tags: [production, eu]',
        '    api_key_env: BLOG_API_KEY',
        '  - url: https://a.example.fr',
        '  - url: https://docs.example.fr',
        '    api_key_env: DOCS_API_KEY',
      ].join('\n'),
    );
    const yaml = await sites(['import', tmp.path('fleet.yml')]);
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(yaml.stdout).toMatch(/IMPORT RECAP: added=2 skipped=1\n$/);
    expect(yaml.stderr).toMatch(/DOCS_API_KEY is not set in this environment/);
    const all = await listed();
    expect(all.map((s) => [s.name, s.tags, s.has_api_key, s.source])).toEqual([
      ['a.example.fr', ['imported'], false, 'import'],
      ['b.example.fr', ['imported'], false, 'import'],
      ['blog', ['production', 'eu'], true, 'import'],
      ['docs.example.fr', [], false, 'import'],
    ]);
    await withStore(async (state) => {
      expect(await state.fleet.siteApiKey(all[2]!.id)).toBe(blogKey);
      expect((await state.fleet.listAudit())[0]).toMatchObject({
        actor: me,
        action: 'site.import',
        detail: { format: 'yaml', added: 2, skipped: 1, via: 'cli' },
      });
    });
  });

  it('imports nothing from a file with a bad entry and says which line; a missing file is exit 2', async () => {
    writeFileSync(tmp.path('bad.txt'), 'https://new.example.fr\nnot a url\n');
    const r = await sites(['import', tmp.path('bad.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.txt:2: URL contains a space/);
    expect((await sites(['import', tmp.path('missing.txt')])).stderr).toMatch(/missing\.txt not found/);
    expect((await listed()).map((s) => s.name)).not.toContain('new.example.fr');
  });

  it('refuses to seal a key with a vault key other than the one the registry already uses', async () => {
    const r = await sites(['add', 'https://other.example.fr', '--api-key-env', 'SHOP_API_KEY'], {
      KEYFLEET_VAULT_KEY: randomBytes(32).toString('base64'),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot be decrypted with the vault key from KEYFLEET_VAULT_KEY/);
    expect((await listed()).map((s) => s.name)).not.toContain('other.example.fr');
  });

  it('opens the Postgres registry DATABASE_URL names, and says to set KEYFLEET_VAULT_KEY without one', async () => {
    const schema = freshSchemaName('kf_cli_sites');
    const pg = { KEYFLEET_DB: undefined, DATABASE_URL: POSTGRES_TEST_URL, KEYFLEET_DB_SCHEMA: schema };
    try {
      const noKey = await sites(['ls'], { ...pg, KEYFLEET_VAULT_KEY: undefined });
      expect(noKey.code).toBe(2);
      expect(noKey.stderr).toMatch(/set KEYFLEET_VAULT_KEY/);
      const added = await sites(['add', 'https://pg.example.fr', '--api-key-env', 'SHOP_API_KEY'], pg);
      expect(added.code, added.stderr).toBe(0);
      const r = await sites(['ls', '--json'], pg);
      expect(JSON.parse(r.stdout)).toMatchObject([{ url: 'https://pg.example.fr', has_api_key: true }]);
      const state = await openStateStore({
        env: { KEYFLEET_DB: POSTGRES_TEST_URL, KEYFLEET_DB_SCHEMA: schema, KEYFLEET_VAULT_KEY: vaultKey },
      });
      try {
        const [site] = await state.fleet.listSites();
        expect(await state.fleet.siteApiKey(site!.id)).toBe(shopKey);
      } finally {
        await state.close();
      }
      // The SQLite file was not touched.
      expect((await listed()).map((s) => s.url)).not.toContain('https://pg.example.fr');
    } finally {
      await dropSchema(schema);
    }
  });

  it('never printed a site key, whatever the command did', () => {
    expect(outputs.length).toBeGreaterThan(20);
    const all = outputs.map((o) => o.stdout + o.stderr).join('\n');
    expect(all).not.toContain(shopKey);
    expect(all).not.toContain(blogKey);
  });
});
