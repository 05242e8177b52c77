import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { SettingsStore } from '../store/settings-store.js';
import { FailureLimiter, hashApiKey } from './auth.js';
import { checkMasterKeys, type TemplateConfig } from './config.js';
import { chooseEncryption } from './encryption-key.js';
import type { TemplateContext } from './context.js';
import { sendError, templateErrorHandler } from './errors.js';
import type { FastPath } from './fast-path.js';
import { createTemplateMetrics, type TemplateMetrics } from './metrics.js';
import { registerCredentialRoutes } from './routes/credential-routes.js';
import { registerPageRoutes } from './routes/page-routes.js';
import { registerPublicRoutes } from './routes/public-routes.js';
import { registerSettingsRoutes } from './routes/settings-routes.js';
import { registerStripeRoutes } from './routes/stripe-routes.js';
import { SettingsService } from './settings-service.js';
import { createStripeGateway, type StripeGateway } from './stripe-gateway.js';

export interface TemplatePluginOptions {
  config: TemplateConfig;
  store: SettingsStore;
  /** Close the store when the app closes (true when the app opened it). */
  ownsStore?: boolean;
  gateway?: StripeGateway;
  metrics?: TemplateMetrics;
  /** The hot-path listener in front of Fastify, when the app owns its HTTP server. */
  fastPath?: FastPath;
}

const BODY_LIMIT = 1024 * 1024;

/**
 * The template site as a Fastify plugin: every route of DESIGN §1, so it can be mounted into an
 * existing app (`app.register(templatePlugin, {...})`) as well as served alone by `buildTemplateApp`.
 */
export const templatePlugin: FastifyPluginAsync<TemplatePluginOptions> = async (app, opts) => {
  const { config, store } = opts;
  checkMasterKeys(config.masterKeys);
  const encryption = await chooseEncryption(config, store, (msg) => app.log.warn(msg));
  const settings = new SettingsService(store, config.env, encryption.box, {
    readAfterWrite: config.readAfterWrite ?? store.backend === 'postgres',
    keySource: encryption.source === 'key file' ? `The key file next to the database` : 'TEMPLATE_ENCRYPTION_KEY',
  });
  await settings.start();
  const ctx: TemplateContext = {
    config,
    settings,
    limiter: new FailureLimiter(config.authFailureLimit),
    checkoutLimiter: new FailureLimiter(config.checkoutPerMinute),
    metricsLimiter: new FailureLimiter(config.authFailureLimit),
    gateway: opts.gateway ?? createStripeGateway({ apiBase: config.stripeApiBase, timeoutMs: config.stripeTimeoutMs }),
    metrics: opts.metrics ?? createTemplateMetrics({ fastPathCount: opts.fastPath?.takeCount }),
    sharedKeyHashes: config.masterKeys.map(hashApiKey),
  };
  opts.fastPath?.setSource(
    () => settings.publishableKeyBody(),
    settings.readAfterWrite ? () => settings.forRead().then((s) => s.pkBody) : undefined,
  );
  app.addHook('onClose', async () => {
    await settings.stop();
    if (opts.ownsStore) await store.close();
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(templateErrorHandler);
  // JSON only: a text/plain body is a 415, not a string that happens to parse.
  app.removeContentTypeParser('text/plain');
  app.setNotFoundHandler((_req, reply) => sendError(reply, 'not_found'));
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= BODY_LIMIT;
  });
  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.requests.inc({ route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });
  // JSON answers get the API header set (OWASP REST): no sniffing, nothing may render or frame them.
  // The document-oriented helmet set is for the HTML page only; on GET /api/stripe-pk, the hottest
  // route, its 12 headers cost ~20 % of the throughput (bench/template-throughput).
  // Set on the raw response, as helmet does, so the page's helmet hook (registered later) replaces them.
  app.addHook('onRequest', (_req, reply, done) => {
    for (const [name, value] of API_SECURITY_HEADERS) reply.raw.setHeader(name, value);
    done();
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'keyfleet template site', version: config.version },
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } } },
    },
    transform: jsonSchemaTransform,
  });

  registerPublicRoutes(app, ctx);
  registerSettingsRoutes(app, ctx);
  registerCredentialRoutes(app, ctx);
  registerStripeRoutes(app, ctx);
  // Behind plain http (a site not yet on TLS), upgrade-insecure-requests would make browsers fetch the
  // page's own script and stylesheet over https and fail; it and HSTS only apply to an https site.
  const https = config.publicUrl?.startsWith('https:') ?? false;
  await app.register(async (pages) => {
    await pages.register(helmet, {
      crossOriginResourcePolicy: false,
      hsts: https,
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: https ? [] : null } },
    });
    registerPageRoutes(pages);
  });
};

const API_SECURITY_HEADERS: ReadonlyArray<[string, string]> = [
  ['x-content-type-options', 'nosniff'],
  ['content-security-policy', "default-src 'none'; frame-ancestors 'none'"],
  ['referrer-policy', 'no-referrer'],
];
