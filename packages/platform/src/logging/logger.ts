import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths removed from every log line. Card data (PAN, CVC) and secrets must never reach a log,
 * wherever they sit in the logged object, so the common nestings are listed explicitly.
 */
export const redactedPaths: readonly string[] = [
  'number',
  'cardNumber',
  'pan',
  'cvc',
  'cvv',
  'password',
  'token',
  'apiKey',
  'authorization',
  'secret',
  '*.number',
  '*.cardNumber',
  '*.pan',
  '*.cvc',
  '*.cvv',
  '*.password',
  '*.token',
  '*.apiKey',
  '*.authorization',
  '*.secret',
  '*.*.number',
  '*.*.cardNumber',
  '*.*.pan',
  '*.*.cvc',
  '*.*.cvv',
  'req.headers.authorization',
  'headers.authorization',
  'request.body.number',
  'request.body.cvc',
];

export interface LoggerSettings {
  service: string;
  level?: LoggerOptions['level'];
  /** Where lines go; standard output by default. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

/**
 * The service's root logger: JSON lines with `service`, redaction of card data and secrets.
 * Trace ids (`trace_id`, `span_id`) are added by the OpenTelemetry pino instrumentation.
 * Components take a child: `logger.child({ component: 'outbox-relay' })`.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: settings.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...redactedPaths], censor: '[REDACTED]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
