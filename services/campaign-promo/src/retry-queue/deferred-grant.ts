import { fromTimestamp, type decodeEnvelope } from '@koban/platform';

type Envelope = ReturnType<typeof decodeEnvelope>;

/**
 * A payment whose cashback is to be granted later by the retry queue, with the record it came
 * from (so that, given up on, the record itself goes to the dead-letter topic).
 */
export interface DeferredGrantInput {
  paymentId: string;
  userId: string;
  /** '' when the event did not say (PaymentCompleted): looked up in the ledger. */
  pointsAccountId: string;
  merchantId: string;
  /** int64 as a decimal string, checked when the grant is attempted. */
  amount: string;
  currency: string;
  paidAt: Date;
  reason: string;
  source: DeferredGrantSource;
}

export interface DeferredGrantSource {
  topic: string;
  partition: number;
  offset: string;
  eventId: string;
  eventType: 'CashbackDeferred' | 'PaymentCompleted';
  key: string | null;
  value: Buffer | null;
  traceparent: string | null;
  tracestate: string | null;
}

export type DeferredGrantState = 'PENDING' | 'DONE' | 'DEAD';

/** A row of the retry queue as the worker claims it (`attempts` counts the claim in hand). */
export interface DeferredGrant extends DeferredGrantInput {
  state: DeferredGrantState;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
}

/** Why the PaymentCompleted safety net queued a grant (the payment's own reasons come in CashbackDeferred). */
export const PENDING_AT_COMPLETION = 'pending_at_completion';

/** The consumed record, as far as the retry queue needs it. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  eventId: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Readonly<Record<string, string>>;
}

/**
 * The grant a consumed event asks for: a CashbackDeferred, or a PaymentCompleted whose cashback
 * is PENDING (the safety net for a CashbackDeferred that never comes). Anything else asks for
 * nothing (this service's own CashbackGranted and CashbackClawedBack included).
 */
export function deferredGrantFrom(
  record: ConsumedRecord,
  envelope: Envelope,
): DeferredGrantInput | undefined {
  const occurredAt = fromTimestamp(envelope.occurredAt);
  const source = (eventType: DeferredGrantSource['eventType']): DeferredGrantSource => ({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    eventId: record.eventId,
    eventType,
    key: record.key === null ? null : record.key.toString('utf8'),
    value: record.value,
    traceparent: record.headers['traceparent'] ?? null,
    tracestate: record.headers['tracestate'] ?? null,
  });
  if (envelope.event === 'cashbackDeferred' && envelope.cashbackDeferred) {
    const deferred = envelope.cashbackDeferred;
    return {
      paymentId: deferred.paymentId,
      userId: deferred.userId,
      pointsAccountId: deferred.pointsAccountId,
      merchantId: deferred.merchantId,
      amount: deferred.amount,
      currency: deferred.currency,
      paidAt: fromTimestamp(deferred.paidAt) ?? occurredAt ?? new Date(),
      reason: deferred.reason.slice(0, 32) || 'unknown',
      source: source('CashbackDeferred'),
    };
  }
  if (
    envelope.event === 'paymentCompleted' &&
    envelope.paymentCompleted?.cashbackStatus === 'CASHBACK_STATUS_PENDING'
  ) {
    const completed = envelope.paymentCompleted;
    return {
      paymentId: completed.paymentId,
      userId: completed.payerUserId,
      pointsAccountId: '',
      merchantId: completed.merchantId,
      amount: completed.amount,
      currency: completed.currency,
      paidAt: fromTimestamp(completed.completedAt) ?? occurredAt ?? new Date(),
      reason: PENDING_AT_COMPLETION,
      source: source('PaymentCompleted'),
    };
  }
  return undefined;
}
