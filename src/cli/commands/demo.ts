import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildDashboardApp } from '../../dashboard/app.js';
import { DASHBOARD_ROUTES, dashboardPath } from '../../protocol/dashboard-routes.js';
import { EXIT } from '../../protocol/error-catalog.js';
import { buildTemplateApp } from '../../template/app.js';
import { CliError } from '../../protocol/cli-error.js';
import { parseCount } from '../fleet-options.js';
import type { RunReport } from '../../engine/run-report.js';
import { recapLines } from '../output/recap.js';
import { colorsFor } from '../../terminal/style.js';

export interface DemoOptions {
  sites?: string;
  /** Push, verify and stop (for scripts and tests) instead of serving until Ctrl-C. */
  exit?: boolean;
}

const alnum = (n: number) => randomBytes(n * 2).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, n);
const listen = async (app: FastifyInstance) => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
};

/**
 * `keyfleet demo`: a local fleet of template sites (temporary SQLite each), a dashboard with them
 * registered and made-up test keys in its vault, a push run by the dashboard through the same
 * pipeline as `keyfleet push`, then `keyfleet verify` from the CLI. Everything lives in one temporary
 * folder removed on exit; Ctrl-C stops every server and leaves nothing behind.
 */
export async function demo(opts: DemoOptions): Promise<number> {
  const count = parseCount(opts.sites, '--sites', 3);
  const dir = mkdtempSync(join(tmpdir(), 'keyfleet-demo-'));
  const apps: FastifyInstance[] = [];
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const masterKey = `demo-master-${alnum(32)}`;
    const keys = { secret_key: `sk_test_demo${alnum(40)}`, publishable_key: `pk_test_demo${alnum(40)}` };
    const urls: string[] = [];
    for (let i = 1; i <= count; i++) {
      const site = await buildTemplateApp({ config: { databaseUrl: `sqlite:${join(dir, `site${i}.db`)}`, masterKeys: [masterKey], env: {} }, logStream: false });
      apps.push(site);
      urls.push(await listen(site));
    }
    const password = `demo-${alnum(16)}`;
    const env = {
      KEYFLEET_ADMIN_PASSWORD: password,
      KEYFLEET_ADMIN_TOKEN: alnum(40),
      KEYFLEET_DB: join(dir, 'keyfleet.db'),
      KEYFLEET_VAULT_KEY: randomBytes(32).toString('base64'),
      TEMPLATE_MASTER_API_KEY: masterKey,
      KEYFLEET_VERIFY_INTERVAL_S: '30',
    };
    const dashboard = await buildDashboardApp({ env, logStream: false });
    apps.push(dashboard);
    const dashboardUrl = await listen(dashboard);
    out(`keyfleet demo: ${count} template sites and a dashboard on loopback, test keys made up for this run.\n`);

    // Through the dashboard's own JSON API, as an operator's script would.
    const api = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
      const res = await dashboard.inject({ method, url, headers: { authorization: `Bearer ${env.KEYFLEET_ADMIN_TOKEN}` }, ...(body ? { payload: body as object } : {}) });
      if (res.statusCode >= 300) throw new CliError(`demo: ${method} ${url} answered ${res.statusCode}: ${res.body}`, EXIT.someFailed);
      return res.json();
    };
    for (const [i, url] of urls.entries()) await api('POST', DASHBOARD_ROUTES.sites, { url, name: `site${i + 1}`, tags: ['demo'] });
    await api('POST', DASHBOARD_ROUTES.keys, { ...keys, make_default: true });
    const { run_id: runId } = await api('POST', DASHBOARD_ROUTES.runs, {});
    let run: RunReport = await api('GET', dashboardPath(DASHBOARD_ROUTES.run, { id: runId }));
    for (const deadline = Date.now() + 60_000; run.state === 'running' && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 100));
      run = await api('GET', dashboardPath(DASHBOARD_ROUTES.run, { id: runId }));
    }
    for (const line of recapLines(run, null, colorsFor(process.stdout))) out(line);

    // The CLI verifies what the dashboard pushed, by itself.
    writeFileSync(join(dir, 'sites.txt'), `# keyfleet demo fleet\n${urls.join('\n')}\n`);
    writeFileSync(join(dir, 'demo.env'), '# the demo sets its keys itself\n');
    Object.assign(process.env, { TEMPLATE_MASTER_API_KEY: masterKey, STRIPE_SECRET_KEY: keys.secret_key, STRIPE_PUBLISHABLE_KEY: keys.publishable_key, KEYFLEET_DB: join(dir, 'cli.db'), KEYFLEET_VAULT_KEY: env.KEYFLEET_VAULT_KEY });
    const { verify } = await import('./verify.js');
    const verified = await verify({ sitesFile: join(dir, 'sites.txt'), envFile: join(dir, 'demo.env') });
    const code = run.state === 'done' && run.summary.failed === 0 && verified === EXIT.ok ? EXIT.ok : EXIT.someFailed;
    if (opts.exit) return code;

    out(`\nDashboard: ${dashboardUrl}/  (login password: ${password})`);
    out('Template sites (open one in a browser, or try the guide\'s checks):');
    for (const u of urls) out(`  ${u}/    curl ${u}/api/stripe-pk`);
    out('\nCtrl-C stops everything and removes the demo\'s files.');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return code;
  } finally {
    await Promise.all(apps.map((a) => a.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}
