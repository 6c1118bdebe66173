import { Kafka, logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';

/** What a service needs to reach Kafka. */
export interface KafkaSettings {
  /** Shown in broker logs and quotas; the service name is a good value. */
  clientId: string;
  /** `host:port` bootstrap addresses, e.g. from `KAFKA_BROKERS`. */
  brokers: readonly string[];
  /** kafkajs logs go to a child of this logger (`component: 'kafkajs'`). */
  logger: Logger;
}

/**
 * A kafkajs client whose own logs go through the service's pino logger, so they carry the service
 * name, the trace ids and the redaction like every other line.
 */
export function createKafka(settings: KafkaSettings): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    logLevel: kafkaLogLevel(settings.logger.level),
    logCreator: pinoLogCreator(settings.logger.child({ component: 'kafkajs' })),
  });
}

/**
 * The kafkajs level matching a pino level, so kafkajs does not even build entries that pino would
 * drop (its debug entries carry whole request payloads).
 */
export function kafkaLogLevel(pinoLevel: string): logLevel {
  switch (pinoLevel) {
    case 'trace':
    case 'debug':
      return logLevel.DEBUG;
    case 'info':
      return logLevel.INFO;
    case 'warn':
      return logLevel.WARN;
    case 'error':
    case 'fatal':
      return logLevel.ERROR;
    case 'silent':
      return logLevel.NOTHING;
    default:
      return logLevel.INFO;
  }
}

/** The pino method a kafkajs entry is written with. */
export function pinoMethodFor(
  entry: Pick<LogEntry, 'level' | 'namespace'>,
): 'debug' | 'info' | 'warn' | 'error' {
  switch (entry.level) {
    case logLevel.ERROR:
      // kafkajs logs every error response of a broker at the connection, including the retriable
      // ones (coordinator loading, leader moved) that the layer above retries and, if it gives up,
      // reports again. Errors are kept for what reaches the service.
      return entry.namespace === 'Connection' ? 'warn' : 'error';
    case logLevel.WARN:
      return 'warn';
    case logLevel.INFO:
      return 'info';
    default:
      return 'debug';
  }
}

/** A kafkajs `logCreator` writing every entry to `logger` with its fields as structured data. */
export function pinoLogCreator(logger: Logger): logCreator {
  return () => (entry) => {
    const fields: Record<string, unknown> = { ...entry.log, namespace: entry.namespace };
    // The message becomes pino's `msg`, pino stamps its own time, and `logger` is always 'kafkajs'.
    delete fields['message'];
    delete fields['timestamp'];
    delete fields['logger'];
    logger[pinoMethodFor(entry)](fields, entry.log.message);
  };
}
