// The real template site (built dist/), on a temporary SQLite file, with a pushed publishable key.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTemplateApp } from '../../dist/template/app.js';

const dir = mkdtempSync(join(tmpdir(), 'keyfleet-bench-'));
const app = await buildTemplateApp({
  config: { databaseUrl: `sqlite:${join(dir, 'site.db')}`, masterKeys: ['bench-master-key-0123456789abcdefghijkl'] },
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
process.on('disconnect', () => app.close().then(() => process.exit(0)));
