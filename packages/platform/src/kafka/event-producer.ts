import { context, trace, type Context } from '@opentelemetry/api';
import { Partitioners, type Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import {
  EVENT_ID_HEADER,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  extractTraceContext,
  injectTraceHeaders,
  type EventHeaders,
} from './trace-headers.js';

/** One event to publish. */
export interface PublishRequest {
  topic: string;
  /** The partitioning key (e.g. the payer account): events with one key stay in order. */
  key: string | null;
  value: Buffer;
  /** Goes into the `event-id` header; consumers apply an event id at most once. */
  eventId: string;
  /** Extra headers. A `traceparent` (and `tracestate`) here, e.g. stored with an outbox row, is
   * the trace the event continues; without one, the active OpenTelemetry context is used. */
  headers?: EventHeaders;
}

/** Where a published event landed. */
export interface PublishResult {
  partition: number;
  offset: string;
}

/** An idempotent Kafka producer that stamps every event with its id and W3C trace context. */
export interface EventProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  publish(request: PublishRequest): Promise<PublishResult>;
}

/** Options of {@link createEventProducer}. */
export interface EventProducerOptions {
  logger: Logger;
}

/**
 * The trace an event continues: the stored `traceparent` when the caller has one (an outbox row
 * relayed long after its request ended), else the active context.
 */
export function publishContext(headers: EventHeaders | undefined, active: Context): Context {
  if (headers?.[TRACEPARENT_HEADER] === undefined) return active;
  return extractTraceContext(headers);
}

/**
 * Builds the producer: idempotent (the broker drops a retried duplicate), one request in flight
 * so retries cannot reorder a key's events, acknowledged by all in-sync replicas.
 */
export function createEventProducer(kafka: Kafka, options: EventProducerOptions): EventProducer {
  const logger = options.logger.child({ component: 'event-producer' });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    // murmur2, as the Java client: a key lands on the same partition whichever client wrote it.
    createPartitioner: Partitioners.DefaultPartitioner,
  });

  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),

    async publish(request) {
      const ctx = publishContext(request.headers, context.active());
      if (request.headers?.[TRACEPARENT_HEADER] !== undefined && !trace.getSpanContext(ctx)) {
        logger.warn(
          {
            topic: request.topic,
            eventId: request.eventId,
            traceparent: request.headers[TRACEPARENT_HEADER],
          },
          'stored traceparent is not valid W3C trace context; publishing without it',
        );
      }
      const headers: EventHeaders = { ...request.headers };
      delete headers[TRACEPARENT_HEADER];
      delete headers[TRACESTATE_HEADER];
      injectTraceHeaders(ctx, headers);
      headers[EVENT_ID_HEADER] = request.eventId;

      // Sent inside the event's context so that a kafkajs instrumentation, when the SDK has one,
      // makes its producer span a child of that trace and not of whatever relay loop runs this.
      const [metadata] = await context.with(ctx, () =>
        producer.send({
          topic: request.topic,
          acks: -1,
          messages: [{ key: request.key, value: request.value, headers }],
        }),
      );
      if (!metadata) throw new Error(`Kafka returned no metadata for a send to ${request.topic}`);
      return { partition: metadata.partition, offset: metadata.baseOffset ?? metadata.offset ?? '-1' };
    },
  };
}
