import { createHash } from 'node:crypto';
import {
  buildEnvelope,
  encodeEnvelope,
  enqueueOutboxEvent,
  toTimestamp,
  topics as platformTopics,
  type OutboxEvent,
} from '@koban/platform';
import { isDuplicateKeyError, type Tx } from '../sql.js';

/** The topics this service reads and writes; tests give each run fresh ones. */
export interface CashbackTopics {
  /** CashbackDeferred in (from payment), CashbackGranted and CashbackClawedBack out. */
  cashback: string;
  /** PaymentCompleted in: the safety net for payments whose cashback is PENDING. */
  payments: string;
  /** Deferred grants this service gave up on. */
  cashbackDeadLetter: string;
}

export const defaultTopics: CashbackTopics = {
  cashback: platformTopics.cashback,
  payments: platformTopics.payments,
  cashbackDeadLetter: platformTopics.cashbackDeadLetter,
};

export const PRODUCER = 'campaign-promo';

/**
 * A UUID that is a function of `name`: the event id of a fact that may be announced more than
 * once (a grant's outcome, by the request and again by the retry queue) is the same each time,
 * so the outbox keeps one row and consumers apply it once.
 */
export function deterministicEventId(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  // RFC 9562 version 8 (custom), variant 10.
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** What CashbackGranted says; `points` 0 and no campaign when the deferred grant came to NONE. */
export interface GrantedFact {
  paymentId: string;
  userId: string;
  pointsAccountId: string;
  campaignId: string;
  points: number;
  ledgerTransferId: string;
  deferred: boolean;
  grantedAt: Date;
}

export function cashbackGrantedEvent(topic: string, fact: GrantedFact): OutboxEvent {
  // The key is the points account, as for every cashback event; a NONE outcome may not know it.
  const key = fact.pointsAccountId || fact.userId;
  const eventId = deterministicEventId(`cashback-granted:${fact.paymentId}`);
  const envelope = buildEnvelope(
    'cashbackGranted',
    {
      paymentId: fact.paymentId,
      userId: fact.userId,
      pointsAccountId: fact.pointsAccountId,
      campaignId: fact.campaignId,
      points: String(fact.points),
      ledgerTransferId: fact.ledgerTransferId,
      deferred: fact.deferred,
      grantedAt: toTimestamp(fact.grantedAt),
    },
    { key, producer: PRODUCER, eventId, occurredAt: fact.grantedAt },
  );
  return { eventId, topic, key, eventType: 'CashbackGranted', payload: encodeEnvelope(envelope) };
}

export interface ClawedBackFact {
  refundId: string;
  paymentId: string;
  userId: string;
  pointsAccountId: string;
  campaignId: string;
  points: number;
  ledgerTransferId: string;
  clawedBackAt: Date;
}

export function cashbackClawedBackEvent(topic: string, fact: ClawedBackFact): OutboxEvent {
  const eventId = deterministicEventId(`cashback-clawed-back:${fact.refundId}`);
  const envelope = buildEnvelope(
    'cashbackClawedBack',
    {
      refundId: fact.refundId,
      paymentId: fact.paymentId,
      userId: fact.userId,
      pointsAccountId: fact.pointsAccountId,
      campaignId: fact.campaignId,
      points: String(fact.points),
      ledgerTransferId: fact.ledgerTransferId,
      clawedBackAt: toTimestamp(fact.clawedBackAt),
    },
    { key: fact.pointsAccountId, producer: PRODUCER, eventId, occurredAt: fact.clawedBackAt },
  );
  return {
    eventId,
    topic,
    key: fact.pointsAccountId,
    eventType: 'CashbackClawedBack',
    payload: encodeEnvelope(envelope),
  };
}

/**
 * Writes an event with a deterministic id into the outbox in the caller's transaction, unless
 * that event is already there; answers whether it wrote it. A duplicate key fails only the
 * statement, not the transaction.
 */
export async function enqueueOnce(conn: Tx, event: OutboxEvent): Promise<boolean> {
  try {
    await enqueueOutboxEvent(conn, event);
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}
