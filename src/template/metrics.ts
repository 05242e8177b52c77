import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { ROUTES } from '../protocol/routes.js';

/**
 * Prometheus metrics of one template app, on its own registry (several apps can share a process).
 * Labels carry setting names and status codes, never a value.
 */
export interface TemplateMetrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  settingUpdates: Counter<'setting'>;
  authFailures: Counter;
  stripeCalls: Counter<'call' | 'outcome'>;
}

export function createTemplateMetrics(
  options: { defaultMetrics?: boolean; /** Requests answered outside Fastify since the last scrape. */ fastPathCount?: () => number } = {},
): TemplateMetrics {
  const fastPathCount = options.fastPathCount;
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'keyfleet_template_' });
  return {
    registry,
    requests: new Counter({
      name: 'keyfleet_template_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status code.',
      labelNames: ['route', 'status'],
      registers: [registry],
      collect() {
        const n = fastPathCount?.() ?? 0;
        if (n > 0) this.inc({ route: ROUTES.stripePk, status: '200' }, n);
      },
    }),
    settingUpdates: new Counter({
      name: 'keyfleet_template_setting_updates_total',
      help: 'Settings written through the export API, by setting name.',
      labelNames: ['setting'],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'keyfleet_template_auth_failures_total',
      help: 'Requests refused for a missing or wrong X-API-Key.',
      registers: [registry],
    }),
    stripeCalls: new Counter({
      name: 'keyfleet_template_stripe_calls_total',
      help: 'Calls to the Stripe API, by call and outcome (ok or an error code).',
      labelNames: ['call', 'outcome'],
      registers: [registry],
    }),
  };
}
