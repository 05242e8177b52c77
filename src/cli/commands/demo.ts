import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildTemplateApp } from '../../template/app.js';
import { EXIT } from '../../protocol/error-catalog.js';
import { parseCount } from '../fleet-options.js';

export interface DemoOptions {
  sites?: string;
  /** Push, verify and stop (for scripts and tests) instead of serving until Ctrl-C. */
  exit?: boolean;
}

const alnum = (n: number) => randomBytes(n * 2).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, n);

/**
 * `keyfleet demo`: a local fleet of template sites (temporary SQLite), fresh test keys, a real push
 * through the same pipeline as `keyfleet push`, then a verify. Everything lives in one temporary
 * folder that is removed on exit; Ctrl-C stops the sites and leaves nothing behind.
 */
export async function demo(opts: DemoOptions): Promise<number> {
  const count = parseCount(opts.sites, '--sites', 3);
  const dir = mkdtempSync(join(tmpdir(), 'keyfleet-demo-'));
  const apps: FastifyInstance[] = [];
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const masterKey = `demo-master-${alnum(32)}`;
    const urls: string[] = [];
    for (let i = 1; i <= count; i++) {
      const app = await buildTemplateApp({ config: { databaseUrl: `sqlite:${join(dir, `site${i}.db`)}`, masterKeys: [masterKey], env: {} }, logStream: false });
      await app.listen({ port: 0, host: '127.0.0.1' });
      apps.push(app);
      urls.push(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
    }
    writeFileSync(join(dir, 'sites.txt'), `# keyfleet demo fleet\n${urls.join('\n')}\n`);
    // An empty env file of its own, so a ./.env in the current folder cannot mix into the demo.
    writeFileSync(join(dir, 'demo.env'), '# the demo sets its keys itself\n');
    // The demo's keys are made up on the spot: well-formed test keys, useless against Stripe.
    Object.assign(process.env, {
      TEMPLATE_MASTER_API_KEY: masterKey,
      STRIPE_SECRET_KEY: `sk_test_demo${alnum(40)}`,
      STRIPE_PUBLISHABLE_KEY: `pk_test_demo${alnum(40)}`,
      KEYFLEET_DB: join(dir, 'keyfleet.db'),
      KEYFLEET_VAULT_KEY: randomBytes(32).toString('base64'),
    });
    out(`keyfleet demo: ${count} template sites on loopback, test keys made up for this run.\n`);
    const { push } = await import('./push.js');
    const pushed = await push({ sitesFile: join(dir, 'sites.txt'), yes: true, envFile: join(dir, 'demo.env') });
    out('');
    const { verify } = await import('./verify.js');
    const verified = await verify({ sitesFile: join(dir, 'sites.txt'), envFile: join(dir, 'demo.env') });
    const code = pushed === EXIT.ok && verified === EXIT.ok ? EXIT.ok : EXIT.someFailed;
    if (opts.exit) return code;
    out('\nThe sites keep running: open one in a browser, or try the guide\'s checks, e.g.');
    out(`  curl ${urls[0]}/api/stripe-pk`);
    out(`  curl ${urls[0]}/api/health/stripe`);
    for (const u of urls) out(`  ${u}/`);
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
