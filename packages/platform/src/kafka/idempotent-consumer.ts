import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { EachMessagePayload, IHeaders, Kafka } from 'kafkajs';
import type { PoolConnection } from 'mysql2/promise';
import type { Logger } from 'pino';
import {
  DEFAULT_PROCESSED_EVENTS_RETENTION_MS,
  startProcessedEventsPurger,
  type ProcessedEventsRetention,
} from './processed-events-retention.js';
import {
  EVENT_ID_HEADER,
  decodeHeaders,
  extractTraceContext,
  headerValue,
  type EventHeaders,
} from './trace-headers.js';

/**
 * The table that makes consumption exactly-once in effect. Put it in each consuming service's
 * migrations. Event ids are random, so the primary key spreads writes (no TiDB hot spot); the
 * `processed_at` key serves the purge of old rows.
 */
export const PROCESSED_EVENTS_DDL = `CREATE TABLE IF NOT EXISTS processed_events (
  consumer_group VARCHAR(128) NOT NULL,
  event_id VARCHAR(64) NOT NULL,
  processed_at DATETIME(3) NOT NULL,
  PRIMARY KEY (consumer_group, event_id),
  KEY processed_events_by_time (processed_at)
)`;

/** The longest event id `processed_events.event_id` holds. */
export const MAX_EVENT_ID_LENGTH = 64;

/** A consumed event as a handler sees it. */
export interface ConsumedEvent {
  eventId: string;
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: EventHeaders;
}

/** Applies one event's effect inside `tx`; throwing rolls the effect back and retries the event. */
export type EventHandler = (event: ConsumedEvent, tx: PoolConnection) => Promise<void>;

/** Runs `fn` in one database transaction: commit when it resolves, roll back when it throws. */
export type RunInTransaction = <T>(fn: (conn: PoolConnection) => Promise<T>) => Promise<T>;

/** Backoff between attempts at an event whose handler failed. */
export interface ConsumerRetryBackoff {
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Options of {@link runIdempotentConsumer}. */
export interface IdempotentConsumerOptions {
  groupId: string;
  topics: readonly string[];
  handler: EventHandler;
  /** The service's transaction runner (its DB module); the dedup row is written through it. */
  runInTransaction: RunInTransaction;
  logger: Logger;
  /** Where a group with no committed offset starts. Default `true`: no event published before the
   * group's first start is missed. */
  fromBeginning?: boolean;
  /** Default 1. Order is kept per partition whatever the value. */
  partitionsConsumedConcurrently?: number;
  /** Default 200 ms doubling up to 30 s. While its only partitions are paused, kafkajs waits
   * `maxWaitTimeInMs` between fetches, so a retry never comes sooner than that. */
  retry?: ConsumerRetryBackoff;
  /** How long a fetch waits on the broker for new events. It also bounds how long `stop()` waits for
   * the fetch in flight and how soon a paused partition is retried. Default 1000 ms (kafkajs: 5000),
   * at the cost of one empty fetch per second per broker while idle. */
  maxWaitTimeInMs?: number;
  /** How long the group's `processed_events` rows are kept and how they are purged. Default: 8
   * days ({@link DEFAULT_PROCESSED_EVENTS_RETENTION_MS}), purged hourly in batches of 500. */
  retention?: ProcessedEventsRetention;
}

/** A running consumer. */
export interface IdempotentConsumer {
  /** Finishes the event in hand, leaves the group and disconnects. */
  stop(): Promise<void>;
}

const defaultBackoff: ConsumerRetryBackoff = { initialDelayMs: 200, maxDelayMs: 30_000 };

const tracer = trace.getTracer('@koban/platform/kafka');

/** The event id of a message, or why it has none usable. */
export function readEventId(headers: IHeaders | undefined): { eventId: string } | { problem: string } {
  const eventId = headerValue(headers, EVENT_ID_HEADER);
  if (eventId === undefined) return { problem: `no ${EVENT_ID_HEADER} header` };
  if (eventId.length > MAX_EVENT_ID_LENGTH) {
    return { problem: `${EVENT_ID_HEADER} longer than ${MAX_EVENT_ID_LENGTH} characters` };
  }
  return { eventId };
}

/** Exponential backoff before attempt `failures + 1`, capped, with up to 20 % jitter below the cap. */
export function retryDelayMs(
  failures: number,
  backoff: ConsumerRetryBackoff,
  random: () => number = Math.random,
): number {
  const exponential = backoff.initialDelayMs * 2 ** Math.max(0, failures - 1);
  const capped = Math.min(backoff.maxDelayMs, exponential);
  return Math.round(capped * (0.8 + 0.2 * random()));
}

/** MySQL/MariaDB/TiDB duplicate-key error (1062). */
export function isDuplicateKeyError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  return code === 'ER_DUP_ENTRY' || errno === 1062;
}

/** The offset to commit once `offset` is done: Kafka commits the next offset to read. */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/**
 * Consumes `topics` in the consumer group `groupId` so that each event's effect is applied exactly
 * once, however often Kafka delivers it:
 *
 * 1. the event id (header `event-id`) is inserted into `processed_events` in the same transaction
 *    as the handler's effect; a duplicate key means the event was applied already and the handler
 *    is skipped;
 * 2. the offset is committed only after that transaction committed.
 *
 * The handler runs in the trace of the producer (W3C headers) under a CONSUMER span named
 * `<topic> process`. When it fails, nothing is committed, the failure is logged once, the partition
 * is paused and rewound to the failed event, and retried after an exponential backoff: no event is
 * lost or skipped, and the partition's later events wait behind it. A message without a usable
 * event id cannot be deduplicated; it is logged and skipped.
 *
 * While it runs, the group's `processed_events` rows older than the retention are purged in small
 * batches (see `startProcessedEventsPurger`), so the table does not grow without bound.
 */
export async function runIdempotentConsumer(
  kafka: Kafka,
  options: IdempotentConsumerOptions,
): Promise<IdempotentConsumer> {
  const { groupId, handler } = options;
  const backoff = options.retry ?? defaultBackoff;
  const logger = options.logger.child({ component: 'idempotent-consumer', groupId });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: options.maxWaitTimeInMs ?? 1000 });
  // Failed attempts at the event a partition is stuck on, and the timers that will resume it.
  const failures = new Map<string, { offset: string; count: number }>();
  const resumeTimers = new Set<NodeJS.Timeout>();

  const commit = async (topic: string, partition: number, offset: string): Promise<void> => {
    try {
      await consumer.commitOffsets([{ topic, partition, offset: nextOffset(offset) }]);
    } catch (error) {
      // The effect is stored: whoever gets the event again skips it as a duplicate, and the next
      // commit on this partition covers this one.
      logger.warn(
        { err: error, topic, partition, offset },
        'offset commit failed; the event will be redelivered',
      );
    }
  };

  /** Applies the event once; false when it had been applied already. */
  const apply = (event: ConsumedEvent): Promise<boolean> =>
    options.runInTransaction(async (tx) => {
      try {
        await tx.execute(
          'INSERT INTO processed_events (consumer_group, event_id, processed_at) VALUES (?, ?, CURRENT_TIMESTAMP(3))',
          [groupId, event.eventId],
        );
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
      await handler(event, tx);
      return true;
    });

  const eachMessage = async (payload: EachMessagePayload): Promise<void> => {
    const { topic, partition, message } = payload;
    const read = readEventId(message.headers);
    if ('problem' in read) {
      logger.error({ topic, partition, offset: message.offset, problem: read.problem }, 'skipping an event');
      await commit(topic, partition, message.offset);
      return;
    }
    const event: ConsumedEvent = {
      eventId: read.eventId,
      topic,
      partition,
      offset: message.offset,
      key: message.key,
      value: message.value,
      headers: decodeHeaders(message.headers),
    };
    const partitionKey = `${topic}:${partition}`;
    // OpenTelemetry messaging semantic conventions.
    const attributes = {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': topic,
      'messaging.destination.partition.id': String(partition),
      'messaging.consumer.group.name': groupId,
      'messaging.kafka.offset': Number(message.offset),
      'messaging.message.id': event.eventId,
    };
    // With the kafkajs instrumentation on, this already runs inside its `process <topic>`
    // CONSUMER span, continuing the producer's trace: annotate that one rather than open a
    // sibling. Without it (tests, telemetry off) the span is opened here from the headers.
    const instrumented = trace.getActiveSpan();
    let span: Span;
    let own: Span | undefined;
    if (instrumented?.isRecording()) {
      span = instrumented;
      span.setAttributes(attributes);
    } else {
      own = tracer.startSpan(
        `process ${topic}`,
        { kind: SpanKind.CONSUMER, attributes },
        extractTraceContext(message.headers, context.active()),
      );
      span = own;
    }
    const spanContext = own ? trace.setSpan(context.active(), own) : context.active();
    // Everything below, the handler's queries and these log lines included, belongs to the span.
    await context.with(spanContext, async () => {
      try {
        const applied = await apply(event);
        failures.delete(partitionKey);
        if (!applied) {
          logger.debug(
            { topic, partition, offset: message.offset, eventId: event.eventId },
            'duplicate event skipped',
          );
        }
        await commit(topic, partition, message.offset);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
        const previous = failures.get(partitionKey);
        const attempt = previous?.offset === message.offset ? previous.count + 1 : 1;
        failures.set(partitionKey, { offset: message.offset, count: attempt });
        const retryInMs = retryDelayMs(attempt, backoff);
        logger.error(
          {
            err: error,
            topic,
            partition,
            offset: message.offset,
            eventId: event.eventId,
            attempt,
            retryInMs,
          },
          'event handler failed; the event will be retried',
        );
        // Rewind to the failed event and hold the partition. Returning rather than throwing keeps
        // kafkajs from restarting the whole consumer (and rejoining the group) for one event.
        consumer.seek({ topic, partition, offset: message.offset });
        const resume = payload.pause();
        const timer = setTimeout(() => {
          resumeTimers.delete(timer);
          resume();
        }, retryInMs);
        resumeTimers.add(timer);
      } finally {
        own?.end();
      }
    });
  };

  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachMessage,
    });
  } catch (error) {
    await consumer.disconnect();
    throw error;
  }
  const purger = startProcessedEventsPurger({
    groupId,
    runInTransaction: options.runInTransaction,
    retention: options.retention ?? { maxAgeMs: DEFAULT_PROCESSED_EVENTS_RETENTION_MS },
    logger: options.logger,
  });

  return {
    async stop() {
      await purger.stop();
      for (const timer of resumeTimers) clearTimeout(timer);
      resumeTimers.clear();
      await consumer.disconnect();
    },
  };
}
