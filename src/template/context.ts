import type { FailureLimiter } from './auth.js';
import type { TemplateConfig } from './config.js';
import type { TemplateMetrics } from './metrics.js';
import type { SettingsService } from './settings-service.js';
import type { StripeGateway } from './stripe-gateway.js';

/** What every route of the template site shares; built once per app by the plugin. */
export interface TemplateContext {
  config: TemplateConfig;
  settings: SettingsService;
  limiter: FailureLimiter;
  /** Checkout sessions per address per minute (counts every request, not only failures). */
  checkoutLimiter: FailureLimiter;
  /** Wrong /metrics tokens per address per minute. */
  metricsLimiter: FailureLimiter;
  gateway: StripeGateway;
  metrics: TemplateMetrics;
  /** Hashes of TEMPLATE_MASTER_API_KEY's values, computed once. */
  sharedKeyHashes: Buffer[];
}
