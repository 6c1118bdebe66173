// The cashback-status consumer: campaign-promo's CashbackGranted on `cashback.v1` settles the
// cashback of a payment that completed with it PENDING (granted later by the retry queue).
import {
  decodeEnvelope,
  startBackgroundConsumer,
  topics,
  type BackgroundConsumer,
  type ConsumerRetryBackoff,
  type createKafka,
  type Db,
  type EventHandler,
  type Logger,
  type ProcessedEventsRetention,
} from '@koban/platform';
import type { PaymentStore } from '../payment/payment-store.js';
import { lateCashbackOf } from './late-cashback.js';

/** The consumer group of the cashback-status consumer. */
export const CASHBACK_STATUS_CONSUMER_GROUP = 'payment.cashback-status';

/** Thrown to have an event retried: the payment has not recorded its cashback outcome yet. */
export class CashbackOutcomeNotRecordedYet extends Error {
  override readonly name = 'CashbackOutcomeNotRecordedYet';
}

export interface CashbackStatusHandlerDeps {
  store: Pick<PaymentStore, 'settlePendingCashback'>;
  logger: Logger;
}

/**
 * Applies one event in the consumer's transaction (the one that records its event id as
 * processed): a CashbackGranted turns the payment's PENDING cashback GRANTED with its points (or
 * NONE), once. A cashback already decided, another kind of event, or one that does not decode
 * changes nothing.
 *
 * A grant can reach this consumer before the payment recorded its cashback outcome: the request
 * gave up on campaign-promo, which then granted before the completing transaction committed, or
 * the process died in between and the sweeper has yet to complete the payment. The event is then
 * retried (thrown: nothing is recorded) rather than skipped: its id is deterministic per payment,
 * so a later announcement of the same grant would be dropped as a duplicate and the payment would
 * keep PENDING for good. The partition waits behind it only until the payment completes.
 */
export function createCashbackStatusHandler(deps: CashbackStatusHandlerDeps): EventHandler {
  const logger = deps.logger.child({ component: 'cashback-status' });
  return async (event, tx) => {
    const where = {
      topic: event.topic,
      partition: event.partition,
      offset: event.offset,
      eventId: event.eventId,
    };
    let envelope: ReturnType<typeof decodeEnvelope>;
    try {
      if (event.value === null) throw new Error('no value');
      envelope = decodeEnvelope(event.value);
    } catch (err) {
      // Retrying cannot decode it better; campaign-promo dead-letters what it cannot read.
      logger.error({ ...where, err }, 'undecodable event skipped');
      return;
    }
    const late = lateCashbackOf(envelope);
    if ('skip' in late) {
      logger.debug({ ...where, why: late.skip }, 'event changes no cashback status');
      return;
    }
    const { paymentId, cashback } = late;
    const settled = await deps.store.settlePendingCashback(tx, paymentId, cashback);
    switch (settled) {
      case 'settled':
        logger.info(
          { ...where, paymentId, status: cashback.status, points: cashback.points },
          'late cashback recorded',
        );
        return;
      case 'not_completed':
        throw new CashbackOutcomeNotRecordedYet(
          `payment ${paymentId} has not recorded its cashback outcome yet; the grant waits for it`,
        );
      case 'already_decided':
        logger.debug({ ...where, paymentId }, 'cashback already decided; grant event changes nothing');
        return;
      case 'unknown':
        logger.warn({ ...where, paymentId }, 'grant of a payment this service does not have; skipped');
        return;
    }
  };
}

export interface CashbackStatusConsumerOptions {
  kafka: ReturnType<typeof createKafka>;
  db: Db;
  handler: EventHandler;
  logger: Logger;
  /** How `cashback.v1` is created when missing. */
  partitions: number;
  replicationFactor: number;
  /** Default `cashback.v1` and {@link CASHBACK_STATUS_CONSUMER_GROUP}; tests use their own. */
  topic?: string;
  groupId?: string;
  /** Passed to the consumer (tests shorten them). */
  maxWaitTimeInMs?: number;
  retry?: ConsumerRetryBackoff;
  /** How long processed_events rows are kept; the platform's default (8 days) when absent. */
  retention?: ProcessedEventsRetention;
}

/**
 * Starts the cashback-status consumer (group `payment.cashback-status`) in the background: Kafka
 * being down at start does not stop payments, and grants wait in Kafka meanwhile.
 */
export function startCashbackStatusConsumer(options: CashbackStatusConsumerOptions): BackgroundConsumer {
  return startBackgroundConsumer(options.kafka, {
    groupId: options.groupId ?? CASHBACK_STATUS_CONSUMER_GROUP,
    topics: [options.topic ?? topics.cashback],
    handler: options.handler,
    runInTransaction: (fn) => options.db.transaction(fn, { label: 'payment.cashback-status' }),
    logger: options.logger,
    partitions: options.partitions,
    replicationFactor: options.replicationFactor,
    ...(options.maxWaitTimeInMs === undefined ? {} : { maxWaitTimeInMs: options.maxWaitTimeInMs }),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.retention === undefined ? {} : { retention: options.retention }),
  });
}
