import { randomUUID } from 'node:crypto';
import {
  buildEnvelope,
  encodeEnvelope,
  eventTopics,
  eventTypeNameOf,
  type EnvelopeEvent,
  type EventKind,
  type OutboxEvent,
} from '@koban/platform';
import type { TraceContext } from './tracing/trace-context.js';

/**
 * The outbox row of one event: its envelope (producer `payment`), its topic, its Kafka key and
 * the trace of the request that created the resource, so consumers continue that trace even
 * when the sweeper is what finished it.
 */
export function outboxEvent<Kind extends EventKind>(
  kind: Kind,
  event: EnvelopeEvent<Kind>,
  facts: { key: string; occurredAt: Date; trace: TraceContext | null },
): OutboxEvent {
  const eventId = randomUUID();
  const envelope = buildEnvelope(kind, event, {
    key: facts.key,
    producer: 'payment',
    eventId,
    occurredAt: facts.occurredAt,
  });
  return {
    eventId,
    topic: eventTopics[kind],
    key: facts.key,
    eventType: eventTypeNameOf(kind),
    payload: encodeEnvelope(envelope),
    traceparent: facts.trace?.traceparent,
    tracestate: facts.trace?.tracestate ?? undefined,
  };
}
