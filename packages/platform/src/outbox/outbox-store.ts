import { randomUUID } from 'node:crypto';
import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';
import { context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * The transactional outbox: an event is written in the same database transaction as the state
 * change it announces, and a relay publishes it to Kafka afterwards. Nothing is lost if the
 * process dies between commit and publish; a row may be published more than once (consumers
 * dedupe by event id). Put this DDL in each producing service's migrations.
 *
 * TiDB rules: the primary key is a random UUID (no write hot spot); relays claim rows with
 * `UPDATE … SET claimed_by, claimed_until … LIMIT n`, never with `SKIP LOCKED`.
 */
export const OUTBOX_DDL = `CREATE TABLE IF NOT EXISTS outbox (
  event_id CHAR(36) NOT NULL,
  topic VARCHAR(128) NOT NULL,
  event_key VARCHAR(128) NOT NULL,
  event_type VARCHAR(64) NOT NULL,
  payload MEDIUMBLOB NOT NULL,
  traceparent VARCHAR(55) NULL,
  tracestate VARCHAR(512) NULL,
  created_at DATETIME(3) NOT NULL,
  claimed_by VARCHAR(64) NULL,
  claimed_until DATETIME(3) NULL,
  sent_at DATETIME(3) NULL,
  attempts INT NOT NULL DEFAULT 0,
  PRIMARY KEY (event_id),
  KEY outbox_unsent (sent_at, created_at)
)`;

/** One event to publish after the surrounding transaction commits. */
export interface OutboxEvent {
  /** Becomes the Kafka `event-id` header consumers dedupe by; a random UUID when omitted. */
  eventId?: string;
  topic: string;
  /** The Kafka key: events of one key (e.g. the payer account) stay in order. */
  key: string;
  /** The event's type name (e.g. `PaymentCompleted`), for logs, metrics and the type header. */
  eventType: string;
  /** The encoded event (an `EventEnvelope`). */
  payload: Buffer;
  /**
   * W3C trace context to continue in consumers; by default the active context's, so the trace
   * of the request that caused the event carries on through Kafka.
   */
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

// W3C directly rather than the global propagator, so the context is stored even in a process
// (or test) without a registered SDK.
const w3c = new W3CTraceContextPropagator();

function activeTraceHeaders(): { traceparent?: string; tracestate?: string } {
  const carrier: Record<string, string> = {};
  w3c.inject(context.active(), carrier, {
    set: (target: Record<string, string>, key, value) => {
      target[key] = value;
    },
  });
  return carrier;
}

/**
 * Writes `event` into the outbox on `conn`, which must be inside the transaction that makes the
 * announced change: both commit or neither does. Resolves with the event id.
 */
export async function enqueueOutboxEvent(conn: PoolConnection, event: OutboxEvent): Promise<string> {
  const eventId = event.eventId ?? randomUUID();
  const trace = event.traceparent === undefined ? activeTraceHeaders() : event;
  await conn.execute<ResultSetHeader>(
    `INSERT INTO outbox (event_id, topic, event_key, event_type, payload, traceparent, tracestate, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP(3))`,
    [
      eventId,
      event.topic,
      event.key,
      event.eventType,
      event.payload,
      trace.traceparent ?? null,
      trace.tracestate ?? null,
    ],
  );
  return eventId;
}
