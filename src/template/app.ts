import { createServer } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { ROUTES } from '../protocol/routes.js';
import { createFastPath } from './fast-path.js';
import type { DestinationStream } from 'pino';
import { loggerOptions } from '../log/logger.js';
import { openSettingsStore } from '../store/open-settings-store.js';
import type { SettingsStore } from '../store/settings-store.js';
import { checkMasterKeys, templateConfigFromEnv, type TemplateConfig } from './config.js';
import { templatePlugin } from './plugin.js';
import type { StripeGateway } from './stripe-gateway.js';

export interface BuildTemplateAppOptions {
  /** Defaults to the environment (templateConfigFromEnv); fields given here override it. */
  config?: Partial<TemplateConfig>;
  /** An already-open store; otherwise one is opened from config.databaseUrl and closed with the app. */
  store?: SettingsStore;
  gateway?: StripeGateway;
  /** Where log lines go (tests capture them); stdout by default. false disables logging. */
  logStream?: DestinationStream | false;
  logLevel?: string;
  /** Behind a proxy: trust X-Forwarded-For for the failed-auth limiter's address. */
  trustProxy?: boolean;
}

/**
 * Builds a template site: a Fastify instance with every route registered, not yet listening.
 * Tests use `app.inject()`; `keyfleet template` calls `listen()`.
 *
 * @example const app = await buildTemplateApp({ config: { databaseUrl: 'sqlite:/tmp/site.db' } });
 */
export async function buildTemplateApp(options: BuildTemplateAppOptions = {}): Promise<FastifyInstance> {
  const config: TemplateConfig = { ...templateConfigFromEnv(), ...options.config };
  checkMasterKeys(config.masterKeys); // before any file is created (the plugin checks again when mounted alone)
  const logger =
    options.logStream === false ? false : { ...loggerOptions(options.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) };
  const fastPath = createFastPath();
  const app = Fastify({
    logger,
    trustProxy: options.trustProxy ?? false,
    bodyLimit: 1024 * 1024,
    // Slow clients are bounded before any route runs: headers and the whole request must arrive in
    // time (checked every second, not Node's default 30 s), and connections past the cap are refused.
    serverFactory: (handler) => {
      const server = createServer(
        {
          requestTimeout: config.requestTimeoutMs,
          headersTimeout: Math.min(config.headersTimeoutMs, config.requestTimeoutMs),
          connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs),
        },
        fastPath.listener(handler),
      );
      server.maxConnections = config.maxConnections;
      return server;
    },
  });
  const store =
    options.store ?? (await openSettingsStore(config.databaseUrl, { log: (message) => app.log.warn({ store: true }, message) }));
  try {
    await app.register(templatePlugin, { config, store, ownsStore: !options.store, gateway: options.gateway, fastPath });
    await app.ready();
    // The fast path answers with exactly the headers the Fastify route sends (security headers, CORS).
    fastPath.enable((await app.inject({ url: ROUTES.stripePk })).headers);
  } catch (err) {
    if (!options.store) await store.close().catch(() => undefined);
    await app.close().catch(() => undefined);
    throw err;
  }
  return app;
}
