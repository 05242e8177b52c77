import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { DestinationStream } from 'pino';
import { createSiteClient, type SiteClient } from '../engine/site-client.js';
import { loggerOptions } from '../log/logger.js';
import { DASHBOARD_ROUTES } from '../protocol/dashboard-routes.js';
import { dashboardStateEnv, openStateStore } from '../store/open-state-store.js';
import type { StateStore } from '../store/state-store.js';
import { FailureLimiter, hashApiKey } from '../template/auth.js';
import { PACKAGE_VERSION } from '../template/config.js';
import { sendError } from '../template/errors.js';
import { LoginGate } from './auth/login-gate.js';
import { SessionStore } from './auth/sessions.js';
import { checkDashboardConfig, dashboardConfigFromEnv, type DashboardConfig } from './config.js';
import type { DashboardContext } from './context.js';
import { dashboardErrorHandler } from './errors.js';
import { parseForm } from './form-body.js';
import { parseAllowedHosts } from './fleet/registration-hosts.js';
import { registerApprovalRoutes } from './routes/approval-routes.js';
import { registerBulkRoutes } from './routes/bulk-routes.js';
import { registerCredentialRoutes } from './routes/credential-routes.js';
import { registerDoctorRoutes } from './routes/doctor-routes.js';
import { registerKeyRoutes } from './routes/key-routes.js';
import { registerRunRoutes } from './routes/run-routes.js';
import { registerSessionRoutes } from './routes/session-routes.js';
import { registerSiteFacingRoutes } from './routes/site-facing-routes.js';
import { registerSiteRoutes } from './routes/site-routes.js';
import { recordSafeToRoll } from './fleet/safe-to-roll.js';
import { FleetVerifier } from './fleet/verifier.js';
import { registerVerifyRoutes } from './routes/verify-routes.js';
import { registerWebRoutes } from './routes/web-routes.js';
import { openSharedRuns } from './runs/open-shared-runs.js';
import { RunManager } from './runs/run-manager.js';
import type { SharedRuns } from './runs/shared-runs.js';
import { SseStreams } from './runs/sse.js';

export interface BuildDashboardAppOptions {
  /** Read for the configuration and the state store; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Fields given here override the environment's. */
  config?: Partial<DashboardConfig>;
  /** An open state store (not closed with the app); else one is opened from KEYFLEET_DB. */
  state?: StateStore;
  /** Passed to openStateStore when the app opens its own store. */
  statePath?: string;
  vaultKey?: string;
  /** How runs reach sites (tests pass one trusting their CA); else one from the config. */
  client?: SiteClient;
  /** Where log lines go (tests capture them); stdout by default. false disables logging. */
  logStream?: DestinationStream | false;
  logLevel?: string;
}

/**
 * Builds the dashboard: a Fastify instance with the admin JSON API (/api/admin/*), the routes
 * template sites call (/api/sites/*) and the run manager, not yet listening. Refuses to build
 * without a password or token (DashboardConfigError, `config_error`). Runs left `running` by a
 * dead process are marked `interrupted` here, ready to be resumed.
 *
 * @example const app = await buildDashboardApp({ env: { KEYFLEET_ADMIN_TOKEN: token, KEYFLEET_DB: path } });
 *          await app.listen({ port: 4400, host: '127.0.0.1' });
 */
export async function buildDashboardApp(options: BuildDashboardAppOptions = {}): Promise<FastifyInstance> {
  const env = options.env ?? process.env;
  const config: DashboardConfig = { ...dashboardConfigFromEnv(env), ...options.config };
  checkDashboardConfig(config);
  const logger =
    options.logStream === false
      ? false
      : { ...loggerOptions(options.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) };
  const trust = config.trustProxy;
  // A hop count as proxy-addr's function form (Fastify's types take no number): the nearest N hops.
  const trustProxy = typeof trust === 'number' ? (_addr: string, hop: number) => hop < trust : trust;
  const app = Fastify({ logger, trustProxy, bodyLimit: 1024 * 1024 });
  // SQLite by default; Postgres with KEYFLEET_DB=postgres://… or, when that is unset, DATABASE_URL=postgres://….
  const stateEnv = dashboardStateEnv(env);
  const state =
    options.state ??
    (await openStateStore({
      path: options.statePath,
      vaultKey: options.vaultKey,
      env: stateEnv,
      eagerVaultKey: true,
      log: (m) => app.log.warn(m),
    }));
  const client =
    options.client ??
    createSiteClient({
      concurrency: config.concurrency,
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      allowHttp: config.allowHttp,
    });
  let shared: SharedRuns | undefined;
  try {
    // A run another live dashboard coordinates (its heartbeat is fresh) is not interrupted.
    for (const id of await state.markInterrupted({ staleAfterMs: config.sharedRuns.staleAfterMs })) {
      app.log.warn(
        { run: id },
        `run ${id} was interrupted; resume it with POST ${DASHBOARD_ROUTES.runs}/${id}/resume`,
      );
    }
    const sessions = new SessionStore(state.sessions, config.sessionTtlMs, Date.now, config.sessionEpoch);
    await sessions.prune();
    const masterKey = config.masterKeys[0] ?? null;
    // Postgres: every dashboard on the database works the sites of every run (runs/shared-runs.ts).
    shared = await openSharedRuns({
      env: stateEnv,
      state,
      client,
      masterKey,
      concurrency: config.concurrency,
      config: config.sharedRuns,
      log: app.log,
    });
    // After every run and every verify sweep: has a version now been verified everywhere?
    const checkSafeToRoll = async () => {
      for (const r of await recordSafeToRoll(state)) {
        app.log.info(
          { version: r.version_id, sites: r.sites },
          // Never "the previous keys can be rolled": other sites may still want or hold them (issue 11).
          `key version ${r.version_id} is verified on every site that should hold it; which old keys can be rolled: GET /api/admin/keys/roll`,
        );
        await state.fleet.audit({
          actor: 'system',
          action: 'keys.safe_to_roll',
          target: r.version_id,
          detail: { sites: r.sites },
        });
      }
    };
    const runs = new RunManager({
      state,
      client,
      masterKey,
      concurrency: config.concurrency,
      log: app.log,
      onFinished: checkSafeToRoll,
      shared: shared && {
        runs: shared,
        heartbeatMs: config.sharedRuns.heartbeatMs,
        staleAfterMs: config.sharedRuns.staleAfterMs,
      },
    });
    const verifier = new FleetVerifier({
      state,
      client,
      masterKey,
      concurrency: config.concurrency,
      intervalMs: config.verifyIntervalMs,
      log: app.log,
      onSwept: checkSafeToRoll,
    });
    const ctx: DashboardContext = {
      config,
      env,
      state,
      sessions,
      authLimiter: new FailureLimiter(config.authFailureLimit),
      loginGate: new LoginGate({ limit: config.authFailureLimit }),
      siteLimiter: new FailureLimiter(10),
      registrationLimiter: {
        perAddress: new FailureLimiter(config.registrationsPerMinute),
        overall: new FailureLimiter(config.registrationsPerMinute * 5),
      },
      registrationHosts: parseAllowedHosts(config.registrationAllowedHosts),
      runs,
      client,
      verifier,
      streams: new SseStreams(),
      adminTokenHashes: config.adminToken ? [hashApiKey(config.adminToken)] : [],
      registrationTokenHashes: config.registrationToken ? [hashApiKey(config.registrationToken)] : [],
      masterKeyHashes: config.masterKeys.map(hashApiKey),
      masterKey,
    };
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    app.setErrorHandler(dashboardErrorHandler);
    app.setNotFoundHandler((_req, reply) => sendError(reply, 'not_found'));
    app.removeContentTypeParser('text/plain');
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
      done(null, parseForm(String(body))),
    );
    await app.register(helmet, { hsts: config.secureCookies === true });
    // Admin answers hold the fleet's state and CSRF tokens: no browser or proxy cache keeps them.
    app.addHook('onSend', async (req, reply) => {
      if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    });
    // Open event streams would hold the server's close forever: end them first.
    app.addHook('preClose', (done) => {
      ctx.streams.closeAll();
      done();
    });
    app.addHook('onClose', async () => {
      await verifier.close();
      // Together: this dashboard's jobs stop starting sites while its own runs end `cancelled`.
      await Promise.all([runs.close(), shared?.stop()]);
      if (!options.client) await client.close();
      if (!options.state) await state.close();
    });
    app.get(DASHBOARD_ROUTES.health, async () => ({ status: 'ok', version: PACKAGE_VERSION }));
    registerSessionRoutes(app, ctx);
    registerSiteRoutes(app, ctx);
    registerApprovalRoutes(app, ctx);
    registerKeyRoutes(app, ctx);
    registerRunRoutes(app, ctx);
    registerSiteFacingRoutes(app, ctx);
    registerVerifyRoutes(app, ctx);
    registerCredentialRoutes(app, ctx);
    registerDoctorRoutes(app, ctx);
    registerBulkRoutes(app, ctx);
    registerWebRoutes(app);
    await app.ready();
    verifier.start();
  } catch (err) {
    await app.close().catch(() => undefined);
    await shared?.stop().catch(() => undefined);
    if (!options.client) await client.close().catch(() => undefined);
    if (!options.state) await state.close().catch(() => undefined);
    throw err;
  }
  return app;
}
