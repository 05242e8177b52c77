import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

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

export function createTemplateMetrics(options: { defaultMetrics?: boolean } = {}): TemplateMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'keyfleet_template_' });
  return {
    registry,
    requests: new Counter({
      name: 'keyfleet_template_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status code.',
      labelNames: ['route', 'status'],
      registers: [registry],
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
