import { buildTemplateApp } from '../../template/app.js';
import { templateConfigFromEnv } from '../../template/config.js';
import { usageError } from '../../protocol/cli-error.js';

export interface TemplateOptions {
  port?: string;
  host?: string;
}

/** `keyfleet template`: serve one template site until SIGINT/SIGTERM. */
export async function template(options: TemplateOptions): Promise<void> {
  const config = templateConfigFromEnv();
  if (options.port !== undefined) {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port must be 0-65535 (got "${options.port}").`);
    config.port = port;
  }
  if (options.host !== undefined) config.host = options.host;
  const app = await buildTemplateApp({ config });
  await app.listen({ port: config.port, host: config.host });
  if (config.masterKeys.length === 0) {
    app.log.warn('TEMPLATE_MASTER_API_KEY is not set: no one can push settings until a key is configured');
  }
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
