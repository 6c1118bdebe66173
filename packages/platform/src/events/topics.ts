import type { EventEnvelope__Output } from '../generated/koban/events/v1/EventEnvelope.js';

/**
 * The Kafka topics of Koban, versioned like the proto packages: a breaking change to what a
 * topic carries means a new topic, never a reinterpretation of the old one. Every record value
 * is a binary `koban.events.v1.EventEnvelope`. See proto/README.md for producers, keys and
 * consumers.
 */
export const topics = {
  /** Money movements from payment: payments, refunds, P2P transfers, top-ups. */
  payments: 'payments.v1',
  /** Records of `payments.v1` a consumer could not process after its retries. */
  paymentsDeadLetter: 'payments.v1.dlq',
  /** Cashback lifecycle: deferred (payment), granted and clawed back (campaign-promo). */
  cashback: 'cashback.v1',
  /** Records of `cashback.v1` a consumer could not process after its retries. */
  cashbackDeadLetter: 'cashback.v1.dlq',
} as const;

/** A Koban topic name. */
export type Topic = (typeof topics)[keyof typeof topics];

/** The dead-letter topic of a topic: its name with `.dlq` appended. */
export function deadLetterTopic(topic: Topic): Topic {
  const dlq = `${topic}.dlq`;
  if (!Object.values<string>(topics).includes(dlq))
    throw new Error(`topic ${topic} has no dead-letter topic`);
  return dlq as Topic;
}

/**
 * Record header naming the event's full message type (`koban.events.v1.PaymentCompleted`), so
 * tools and dead-letter handling can route a record without decoding it.
 */
export const EVENT_TYPE_HEADER = 'koban-event-type';

/** Which member of the envelope's `event` oneof a record carries: `paymentCompleted`... */
export type EventKind = NonNullable<EventEnvelope__Output['event']>;

/** The topic each kind of event is published to: exhaustive, so a new event needs a topic. */
export const eventTopics: Readonly<Record<EventKind, Topic>> = {
  paymentCompleted: topics.payments,
  paymentRefunded: topics.payments,
  transferCompleted: topics.payments,
  topupCompleted: topics.payments,
  topupFailed: topics.payments,
  cashbackDeferred: topics.cashback,
  cashbackGranted: topics.cashback,
  cashbackClawedBack: topics.cashback,
};
