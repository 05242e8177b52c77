import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { maskSecrets } from '../protocol/fingerprint.js';

/**
 * Every log line goes through `maskSecrets` as it is written, so anything shaped like a secret key —
 * including error text relayed from Stripe or from a site — is masked whatever the caller logged.
 */
export function loggerOptions(level: string = process.env.LOG_LEVEL ?? 'info'): LoggerOptions {
  return {
    level,
    hooks: { streamWrite: (line: string) => maskSecrets(line) },
    redact: { paths: ['req.headers["x-api-key"]', 'req.headers.authorization', 'req.headers.cookie'], remove: true },
  };
}

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const opts = loggerOptions(options.level);
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
