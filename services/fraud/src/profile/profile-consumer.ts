// The features consumer: completed payments of `payments.v1` update each payer's profile
// (amount EWMA, merchants and cards paid) exactly once in effect, and their 24 h spend window.
import {
  decodeEnvelope,
  startBackgroundConsumer,
  type BackgroundConsumer,
  type ConsumedEvent,
  type createKafka,
  type Db,
  type Logger,
  type ProcessedEventsRetention,
  type RunInTransaction,
} from '@koban/platform';
import type { DecisionStore } from '../scoring/decision-store.js';
import { completedPaymentOf, updateProfile } from './profile.js';
import { profileWriter, type Tx } from './profile-store.js';
import type { SpendWindow } from './spend-window.js';

/** The consumer group of the features consumer. */
export const FEATURES_CONSUMER_GROUP = 'fraud-features';

type Kafka = ReturnType<typeof createKafka>;
type AfterCommit = () => Promise<void>;

export interface ProfileConsumerDeps {
  kafka: Kafka;
  db: Db;
  /** The decisions, for the card fingerprint a completed payment was scored with. */
  decisions: DecisionStore;
  spend: SpendWindow;
  logger: Logger;
  /** Weight of the newest amount in the EWMA profile (0 < alpha ≤ 1). */
  alpha: number;
  /** Default `payments.v1` and {@link FEATURES_CONSUMER_GROUP}; tests use their own. */
  topic?: string;
  groupId?: string;
  /** How a missing topic is created (as the producers create it). */
  partitions: number;
  replicationFactor: number;
  /** First and largest delay between attempts to reach Kafka (default 500 ms to 10 s). */
  retryDelayMs?: { initial: number; max: number };
  /** Passed to the consumer (tests shorten them). */
  maxWaitTimeInMs?: number;
  /** How long processed_events rows are kept; the platform's default (8 days) when absent. */
  retention?: ProcessedEventsRetention;
  /** Epoch ms; `Date.now` by default. */
  now?: () => number;
}

/** The running features consumer. */
export type ProfileConsumer = BackgroundConsumer;

/**
 * Applies one event on its transaction `tx`: a completed payment updates the payer's profile
 * (row locked, EWMA updated), the merchant and the card (the fingerprint it was scored with)
 * the payer has paid; its spend-window entry is handed to `afterCommit`. Other events, and
 * records that do not decode, change nothing (the consumer still marks them processed).
 */
export function createProfileEventHandler(
  deps: Pick<ProfileConsumerDeps, 'decisions' | 'spend' | 'logger' | 'alpha' | 'now'>,
): (event: ConsumedEvent, tx: Tx, afterCommit: (action: AfterCommit) => void) => Promise<void> {
  const logger = deps.logger.child({ component: 'profile-consumer' });
  const now = deps.now ?? Date.now;

  return async (event, tx, afterCommit) => {
    let envelope: ReturnType<typeof decodeEnvelope>;
    try {
      if (event.value === null) throw new Error('no value');
      envelope = decodeEnvelope(event.value);
    } catch (err) {
      // Retrying cannot decode it better: skipped, so that it does not hold the partition.
      logger.error({ err, eventId: event.eventId, offset: event.offset }, 'undecodable event skipped');
      return;
    }
    const payment = completedPaymentOf(envelope);
    if ('skip' in payment) {
      logger.debug({ eventId: event.eventId, why: payment.skip }, 'event feeds no feature');
      return;
    }

    const scored = await deps.decisions.findByPaymentId(payment.paymentId);
    const writer = profileWriter(tx);
    const profile = await writer.lockProfile(payment.userId);
    await writer.saveProfile(
      payment.userId,
      updateProfile(profile, Number(payment.amount), deps.alpha),
      payment.amount,
      payment.completedAtMs,
    );
    if (payment.merchantId !== '') {
      await writer.notePaidMerchant(payment.userId, payment.merchantId, payment.completedAtMs);
    }
    const fingerprint = scored?.cardFingerprint ?? '';
    if (fingerprint !== '') await writer.notePaidCard(payment.userId, fingerprint, payment.completedAtMs);
    // Redis after the commit; ZADD NX by payment makes a repeat harmless.
    afterCommit(() => deps.spend.add(payment, now()));
  };
}

/**
 * Starts the features consumer (group `fraud-features`). Kafka being down at start must not stop
 * the service (scoring works on the features it has), so creating the topic and joining the
 * group are retried in the background with capped backoff.
 */
export function startProfileConsumer(deps: ProfileConsumerDeps): ProfileConsumer {
  const handle = createProfileEventHandler(deps);
  const pending = new WeakMap<Tx, AfterCommit[]>();

  // The platform's consumer commits its processed_events row and our effect in one transaction;
  // the actions a handler queued run once that transaction committed.
  const runInTransaction: RunInTransaction = async (fn) => {
    let actions: AfterCommit[] = [];
    const result = await deps.db.transaction(
      (tx) => {
        actions = [];
        pending.set(tx, actions);
        return fn(tx);
      },
      { label: 'fraud.features' },
    );
    for (const action of actions) await action();
    return result;
  };

  return startBackgroundConsumer(deps.kafka, {
    groupId: deps.groupId ?? FEATURES_CONSUMER_GROUP,
    topics: [deps.topic ?? 'payments.v1'],
    runInTransaction,
    logger: deps.logger,
    handler: (event, tx) => handle(event, tx, (action) => pending.get(tx)?.push(action)),
    partitions: deps.partitions,
    replicationFactor: deps.replicationFactor,
    ...(deps.retryDelayMs === undefined ? {} : { connectRetryMs: deps.retryDelayMs }),
    ...(deps.maxWaitTimeInMs === undefined ? {} : { maxWaitTimeInMs: deps.maxWaitTimeInMs }),
    ...(deps.retention === undefined ? {} : { retention: deps.retention }),
  });
}
