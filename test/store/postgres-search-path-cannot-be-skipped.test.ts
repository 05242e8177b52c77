import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { openStateStore, StateConfigError } from '../../src/store/open-state-store.js';
import { openPostgres, schemaNameProblem, searchPathOptions } from '../../src/store/sql/postgres-db.js';
import { ADMIN_TOKEN } from '../dashboard/dashboard-fixture.js';
import { BIN } from '../helpers/run-cli.js';
import { MASTER_KEY } from '../helpers/keys.js';
import { POSTGRES_TEST_URL, dropSchema, freshSchemaName } from '../helpers/postgres.js';

const vaultKey = () => randomBytes(32).toString('base64');

/**
 * Issue 14, point 3: every Postgres connection of the state store works in its schema from its very
 * first query (search_path is a startup option, not a SET racing the first query), a schema name that
 * is not a plain identifier is refused with what to do, a connection whose options fail fails loudly,
 * and a dashboard starts without pg's deprecation warning.
 */
describe('the state store on Postgres and its schema', () => {
  const schemas: string[] = [];
  const fresh = () => {
    const s = freshSchemaName('kf_sp');
    schemas.push(s);
    return s;
  };
  afterAll(async () => {
    await Promise.all(schemas.map((s) => Promise.all([dropSchema(s), dropSchema(`${s}_queue`)])));
  });

  it('runs every pooled connection in the schema from its first query', async () => {
    const schema = fresh();
    const { db, pool } = openPostgres(POSTGRES_TEST_URL, schema, { poolSize: 8, appName: 'kf_sp_test' });
    try {
      // Eight connections opened at once, each asked straight away: none may answer from another schema.
      const seen = await Promise.all(
        Array.from({ length: 8 }, () =>
          pool.query<{ search_path: string }>('SHOW search_path').then((r) => r.rows[0]?.search_path),
        ),
      );
      expect(new Set(seen)).toEqual(new Set([`"${schema}"`]));
    } finally {
      await db.close();
    }
  });

  it("keeps the URL's own options, and search_path cannot be overridden by them", async () => {
    const schema = fresh();
    const url = `${POSTGRES_TEST_URL}?options=${encodeURIComponent('-c search_path=public -c application_name=kf_opt_test')}`;
    const { connectionString, options } = searchPathOptions(url, schema, {});
    expect(connectionString).not.toContain('options=');
    expect(options).toBe(`-c search_path=public -c application_name=kf_opt_test -c search_path="${schema}"`);
    const store = await openStateStore({
      env: { KEYFLEET_DB: url, KEYFLEET_DB_SCHEMA: schema, KEYFLEET_VAULT_KEY: vaultKey() },
    });
    try {
      const run = await store.createRun({
        command: 'push',
        dry_run: true,
        actor: 'test',
        sites_source: null,
        keys: {},
        options: {},
        key_version_id: null,
        sites: ['https://a.example'],
      });
      expect((await store.getRun(run.id))?.summary.total).toBe(1);
    } finally {
      await store.close();
    }
  });

  it.each([['bad name'], ['x;drop table runs'], ['pg_catalog'], ['1abc'], ['a'.repeat(64)], ['sch"ema']])(
    'refuses the schema name %j with what to do',
    async (name) => {
      expect(schemaNameProblem(name)).toMatch(/KEYFLEET_DB_SCHEMA/);
      const open = openStateStore({
        env: { KEYFLEET_DB: POSTGRES_TEST_URL, KEYFLEET_DB_SCHEMA: name, KEYFLEET_VAULT_KEY: vaultKey() },
      });
      await expect(open).rejects.toThrow(StateConfigError);
      await expect(open).rejects.toThrow(/letters, digits and underscores/);
      expect(() => openPostgres(POSTGRES_TEST_URL, name, { appName: 'kf_sp_test' })).toThrow(/not a usable Postgres schema name/);
    },
  );

  it('accepts mixed case and keeps it', async () => {
    expect(schemaNameProblem('Keyfleet_Prod')).toBeNull();
    const schema = `${fresh()}_Mixed`;
    schemas.push(schema);
    const store = await openStateStore({
      env: { KEYFLEET_DB: POSTGRES_TEST_URL, KEYFLEET_DB_SCHEMA: schema, KEYFLEET_VAULT_KEY: vaultKey() },
    });
    await store.close();
  });

  it('fails loudly, opening nothing, when the connection options cannot be applied', async () => {
    const url = `${POSTGRES_TEST_URL}?options=${encodeURIComponent('-c statement_timeout=not-a-duration')}`;
    await expect(
      openStateStore({
        env: { KEYFLEET_DB: url, KEYFLEET_DB_SCHEMA: fresh(), KEYFLEET_VAULT_KEY: vaultKey() },
      }),
    ).rejects.toThrow(/Could not open keyfleet's state database.*statement_timeout/s);
  });

  it(
    'refuses to start a dashboard whose schema cannot be used, saying what to do',
    { timeout: 30_000 },
    async () => {
      const child = spawn(process.execPath, [BIN, 'dashboard', '--port', '0', '--host', '127.0.0.1'], {
        env: {
          PATH: process.env.PATH ?? '',
          NO_COLOR: '1',
          KEYFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
          KEYFLEET_DB: POSTGRES_TEST_URL,
          KEYFLEET_DB_SCHEMA: 'keyfleet prod',
          KEYFLEET_VAULT_KEY: vaultKey(),
          TEMPLATE_MASTER_API_KEY: MASTER_KEY,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect(code).not.toBe(0);
      expect(output).toMatch(/not a usable Postgres schema name.*KEYFLEET_DB_SCHEMA/s);
      expect(output).not.toMatch(/Server listening/);
    },
  );

  it('starts a dashboard with no pg deprecation warning on its stderr', { timeout: 30_000 }, async () => {
    const schema = fresh();
    const child = spawn(process.execPath, [BIN, 'dashboard', '--port', '0', '--host', '127.0.0.1'], {
      env: {
        PATH: process.env.PATH ?? '',
        NO_COLOR: '1',
        KEYFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
        KEYFLEET_DB: POSTGRES_TEST_URL,
        KEYFLEET_DB_SCHEMA: schema,
        KEYFLEET_VAULT_KEY: vaultKey(),
        TEMPLATE_MASTER_API_KEY: MASTER_KEY,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m?.[1]) resolve(m[1]);
      });
      void exited.then(() => reject(new Error(`the dashboard exited:\n${stdout}\n${stderr}`)));
    });
    // Some work on the pool after start: the sites list, the runs list, both reading the state.
    for (const path of ['/api/admin/sites', '/api/admin/runs']) {
      const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status).toBe(200);
    }
    child.kill('SIGTERM');
    await exited;
    expect(stderr).not.toMatch(/DeprecationWarning|already executing a query/);
    expect(stdout).not.toMatch(/DeprecationWarning|already executing a query/);
  });
});
