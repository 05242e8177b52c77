import type { AddressInfo } from 'node:net';
import { fingerprint, last4 } from '../../src/protocol/fingerprint.js';
import { keyMode } from '../../src/protocol/key-formats.js';
import { API_KEY_HEADER, ROUTES, settingPath } from '../../src/protocol/routes.js';
import type { TemplateConfig } from '../../src/template/config.js';
import { createFakeSite, send, startServer, type FaultServer } from '../fault-fleet/index.js';
import type { ServerOptions } from '../fault-fleet/server.js';
import { MASTER_KEY } from '../helpers/keys.js';
import { runCli, scratch, type CliResult } from '../helpers/run-cli.js';
import { startTestSite, type TestSite } from '../helpers/template-site.js';

/**
 * Shared by the doctor tests: the real CLI in a scratch directory (no stray ./.env), real template
 * sites listening on 127.0.0.1, and the JSON shapes `keyfleet doctor --json` prints.
 */
export interface CheckJson {
  name: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  detail: string;
  duration_ms: number;
}
export interface SiteJson {
  url: string;
  checks: CheckJson[];
  diagnosis: null | { code: string; hint: string; reproduce: string };
}

const work = scratch();
export const cleanupScratch = () => work.cleanup();
export const scratchPath = (name: string) => work.path(name);

export function runDoctor(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(['doctor', ...args], { env, cwd: work.dir, timeoutMs: 60_000 });
}

export function check(site: SiteJson, name: string): CheckJson {
  const found = site.checks.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no check ${name} in ${JSON.stringify(site)}`);
  return found;
}

/** A real template site on a loopback port, with keys pushed through its own API. */
export interface ListeningTemplate {
  url: string;
  site: TestSite;
  push(setting: string, value: string): Promise<void>;
  close(): Promise<void>;
}

export async function listeningTemplate(config: Partial<TemplateConfig> = {}): Promise<ListeningTemplate> {
  const site = await startTestSite({ config });
  await site.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(site.app.server.address() as AddressInfo).port}`;
  return {
    url,
    site,
    async push(setting, value) {
      const res = await site.app.inject({
        method: 'PUT',
        url: settingPath(setting),
        headers: { [API_KEY_HEADER]: MASTER_KEY, 'content-type': 'application/json' },
        payload: JSON.stringify({ value }),
      });
      if (res.statusCode !== 200) throw new Error(`push ${setting}: ${res.statusCode} ${res.body}`);
    },
    close: () => site.close(),
  };
}

/**
 * A site built like the seed's old app: it accepts a pushed secret (PUT answers 200, the database
 * keeps it) but reads STRIPE_SECRET_KEY from its environment first, so the pushed value never takes
 * effect. Its authenticated health view says so honestly: `source: env`.
 */
export async function startOldStyleSite(
  opts: { apiKey: string; publishableKey: string; envSecretKey: string },
  server: ServerOptions = {},
): Promise<FaultServer & { pushedSecret(): string | undefined }> {
  const fake = createFakeSite({ apiKey: opts.apiKey, publishableKey: opts.publishableKey });
  const info = (value: string, source: 'settings' | 'env', isPublic: boolean) => ({
    ...(isPublic ? { value } : {}),
    fingerprint: fingerprint(value),
    last4: last4(value),
    mode: keyMode(value),
    source,
    shadows_env: false,
    updated_at: null,
  });
  const running = await startServer((req, res, ctx) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === ROUTES.healthStripe && req.headers[API_KEY_HEADER] === opts.apiKey) {
      const body = {
        success: true,
        secret_key_configured: true,
        publishable_key_configured: true,
        environment: keyMode(opts.envSecretKey),
        authenticated: true,
        keys: {
          stripe_publishable_key: info(opts.publishableKey, 'settings', true),
          stripe_secret_key: info(opts.envSecretKey, 'env', false),
          stripe_webhook_secret: null,
          stripe_price_id: null,
        },
      };
      send(res, 200, JSON.stringify(body));
      return;
    }
    fake.handler(req, res, ctx);
  }, server);
  return Object.assign(running, { pushedSecret: () => fake.state.settings.get('stripe_secret_key') });
}

/** Every value in `secrets` is absent from everything the CLI printed. */
export function leaked(result: CliResult, secrets: readonly string[]): string[] {
  const printed = result.stdout + result.stderr;
  return secrets.filter((s) => printed.includes(s));
}
