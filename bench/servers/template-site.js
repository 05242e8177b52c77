// The real template site (built dist/), with a pushed publishable key: on a temporary SQLite file,
// or with BENCH_DATABASE_URL=postgres://… in a fresh schema (dropped on exit).
// BENCH_READ_AFTER_WRITE=on|off sets TEMPLATE_READ_AFTER_WRITE (default: the backend's default).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { buildTemplateApp } from '../../dist/template/app.js';
import { openSettingsStore } from '../../dist/store/open-settings-store.js';

const dir = mkdtempSync(join(tmpdir(), 'keyfleet-bench-'));
const pgUrl = process.env.BENCH_DATABASE_URL;
const schema = `kf_bench_${process.pid}`;
const store = pgUrl ? await openSettingsStore(pgUrl, { schema }) : undefined;
const raw = process.env.BENCH_READ_AFTER_WRITE;
const app = await buildTemplateApp({
  config: {
    databaseUrl: `sqlite:${join(dir, 'site.db')}`,
    masterKeys: ['bench-master-key-0123456789abcdefghijkl'],
    ...(raw ? { readAfterWrite: raw === 'on' } : {}),
  },
  ...(store ? { store } : {}),
  logStream: false,
});
const put = await app.inject({
  method: 'PUT',
  url: '/api/export/settings/stripe_publishable_key',
  headers: { 'x-api-key': 'bench-master-key-0123456789abcdefghijkl', 'content-type': 'application/json' },
  payload: JSON.stringify({ value: process.env.BENCH_PK }),
});
if (put.statusCode !== 200) throw new Error(`could not seed the site: ${put.body}`);
await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ port: app.server.address().port });
process.on('disconnect', async () => {
  await app.close();
  if (store) {
    await store.close();
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
  process.exit(0);
});
