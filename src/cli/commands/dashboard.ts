import { buildDashboardApp } from '../../dashboard/app.js';
import { parseTrustProxy, type DashboardConfig } from '../../dashboard/config.js';
import { usageError } from '../../protocol/cli-error.js';
import { parseCount, parseTimeoutMs } from '../fleet-options.js';

export interface DashboardOptions {
  port?: string;
  host?: string;
  concurrency?: string;
  timeout?: string;
  retries?: string;
  allowHttp?: boolean;
  trustProxy?: string;
}

/**
 * `keyfleet dashboard`: serve the dashboard until SIGINT/SIGTERM. Configuration comes from the
 * environment (dashboard/config.ts); flags given here win. Runs in progress when it stops end
 * `cancelled` and can be resumed; a killed process's runs show as `interrupted` on the next start.
 */
export async function dashboard(options: DashboardOptions): Promise<void> {
  const config: Partial<DashboardConfig> = {};
  if (options.port !== undefined) {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw usageError(`--port must be 0-65535 (got "${options.port}").`);
    config.port = port;
  }
  if (options.host !== undefined) config.host = options.host;
  if (options.concurrency !== undefined)
    config.concurrency = parseCount(options.concurrency, '--concurrency', 16);
  if (options.timeout !== undefined) config.timeoutMs = parseTimeoutMs(options.timeout);
  if (options.retries !== undefined) config.retries = parseCount(options.retries, '--retries', 2, 0);
  if (options.allowHttp) config.allowHttp = true;
  if (options.trustProxy !== undefined) config.trustProxy = parseTrustProxy(options.trustProxy);

  const app = await buildDashboardApp({ config });
  // The password is hashed by now: the clear text leaves process.env, so child processes and any code
  // reading process.env (a YAML import's api_key_env) no longer see it. /proc/<pid>/environ still
  // shows it to the same user and root: the kernel keeps the environment the process started with,
  // and no call can change that. To keep it out, give KEYFLEET_ADMIN_PASSWORD as a scrypt$… hash.
  delete process.env.KEYFLEET_ADMIN_PASSWORD;
  const env = process.env;
  await app.listen({
    port: config.port ?? Number(env.PORT || 4400),
    host: config.host ?? (env.HOST || '127.0.0.1'),
  });
  if (!env.TEMPLATE_MASTER_API_KEY)
    app.log.warn('TEMPLATE_MASTER_API_KEY is not set: only sites with their own API key can be pushed to');
  if (!env.KEYFLEET_REGISTRATION_TOKEN)
    app.log.info('KEYFLEET_REGISTRATION_TOKEN is not set: POST /api/sites/register is off');
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void app.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
