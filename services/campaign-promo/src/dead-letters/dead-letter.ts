import { buildEnvelope, encodeEnvelope, toTimestamp, type OutboxEvent } from '@koban/platform';
import { PRODUCER } from '../events/cashback-events.js';
import type { DeferredGrant } from '../retry-queue/deferred-grant.js';

/**
 * The dead-letter record of a deferred grant the retry queue gave up on, for the outbox.
 *
 * A CashbackDeferred goes as it came: same key, same value (the envelope bytes, its event id
 * inside), same trace. A PaymentCompleted (the safety net) is not re-published as such — a replay
 * to payments.v1 would be counted again by every other consumer — but as the CashbackDeferred it
 * stood for, so that every record of `cashback.v1.dlq` replays to `cashback.v1`.
 *
 * Why and from where it was given up on (the last error, the source topic, partition, offset and
 * event id) stay on the `deferred_grants` row and in the log line: the outbox table carries no
 * custom headers.
 */
export function deadLetterEvent(grant: DeferredGrant, topic: string): OutboxEvent {
  const { source } = grant;
  const trace = { traceparent: source.traceparent ?? undefined, tracestate: source.tracestate ?? undefined };
  if (source.eventType === 'CashbackDeferred' && source.value !== null) {
    return {
      topic,
      key: source.key ?? (grant.pointsAccountId || grant.userId),
      eventType: 'CashbackDeferred',
      payload: source.value,
      ...trace,
    };
  }
  const key = grant.pointsAccountId || grant.userId;
  const envelope = buildEnvelope(
    'cashbackDeferred',
    {
      paymentId: grant.paymentId,
      userId: grant.userId,
      pointsAccountId: grant.pointsAccountId,
      merchantId: grant.merchantId,
      amount: grant.amount,
      currency: grant.currency,
      paidAt: toTimestamp(grant.paidAt),
      reason: grant.reason,
    },
    { key, producer: PRODUCER, occurredAt: grant.paidAt },
  );
  return { topic, key, eventType: 'CashbackDeferred', payload: encodeEnvelope(envelope), ...trace };
}
