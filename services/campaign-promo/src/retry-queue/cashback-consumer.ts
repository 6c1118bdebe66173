import { setTimeout as sleep } from 'node:timers/promises';
import {
  EVENT_TYPE_HEADER,
  decodeEnvelope,
  enqueueOutboxEvent,
  ensureTopics,
  runIdempotentConsumer,
  type ConsumerRetryBackoff,
  type Db,
  type EventHandler,
  type IdempotentConsumer,
  type Logger,
  type ProcessedEventsRetention,
  type createKafka,
} from '@koban/platform';
import { CampaignError } from '../campaign-errors.js';
import { checkClawbackRequest } from '../clawbacks/clawback.js';
import type { ClawbackService } from '../clawbacks/clawback-service.js';
import type { CashbackTopics } from '../events/cashback-events.js';
import { deferredGrantFrom } from './deferred-grant.js';
import type { DeferredGrantStore } from './deferred-grant-store.js';

export interface CashbackEventHandlerDeps {
  store: Pick<DeferredGrantStore, 'enqueue'>;
  clawbacks: Pick<ClawbackService, 'recordInTransaction'>;
  topics: CashbackTopics;
  logger: Logger;
  now: () => Date;
}

/**
 * Applies one consumed event inside the consumer's transaction (the one that records its event
 * id as processed), so each is applied exactly once:
 * - a CashbackDeferred, or a PaymentCompleted with cashback PENDING, queues the payment's grant
 *   for the retry worker;
 * - a PaymentRefunded records the refund's clawback unless payment's own ClawbackCashback call
 *   did (the worker then asks the ledger).
 * Nothing slow happens here, so one failing grant never holds up the partition behind it. A
 * cashback record that cannot be decoded goes to the dead-letter topic as it came; one of
 * another topic is logged and skipped.
 */
export function createCashbackEventHandler(deps: CashbackEventHandlerDeps): EventHandler {
  const logger = deps.logger.child({ component: 'cashback-consumer' });
  return async (event, tx) => {
    const where = {
      topic: event.topic,
      partition: event.partition,
      offset: event.offset,
      eventId: event.eventId,
    };
    let envelope: ReturnType<typeof decodeEnvelope> | undefined;
    try {
      envelope = event.value === null ? undefined : decodeEnvelope(event.value);
    } catch (error) {
      logger.error({ ...where, err: error }, 'undecodable event');
    }
    if (envelope === undefined) {
      if (event.topic === deps.topics.cashback && event.value !== null) {
        await enqueueOutboxEvent(tx, {
          topic: deps.topics.cashbackDeadLetter,
          key: event.key?.toString('utf8') ?? '',
          eventType: event.headers[EVENT_TYPE_HEADER] ?? 'koban.events.v1.Unknown',
          payload: event.value,
          traceparent: event.headers['traceparent'],
          tracestate: event.headers['tracestate'],
        });
      }
      return;
    }
    if (envelope.event === undefined) {
      logger.warn(where, 'event of a kind this build does not know; skipped');
      return;
    }
    if (envelope.event === 'paymentRefunded' && envelope.paymentRefunded) {
      const refunded = envelope.paymentRefunded;
      try {
        const command = checkClawbackRequest({
          refundId: refunded.refundId,
          paymentId: refunded.paymentId,
          paymentAmount: refunded.paymentAmount,
          totalRefundedAmount: refunded.totalRefundedAmount,
        });
        await deps.clawbacks.recordInTransaction(tx, command);
      } catch (error) {
        if (!(error instanceof CampaignError && error.code === 'invalid_request')) throw error;
        logger.error({ ...where, err: error }, 'PaymentRefunded without what a clawback needs; skipped');
      }
      return;
    }
    const input = deferredGrantFrom(event, envelope);
    if (input === undefined) return;
    await deps.store.enqueue(tx, input, deps.now());
    logger.debug({ ...where, paymentId: input.paymentId, reason: input.reason }, 'deferred grant queued');
  };
}

export interface CashbackConsumerOptions {
  kafka: ReturnType<typeof createKafka>;
  db: Db;
  handler: EventHandler;
  groupId: string;
  topics: CashbackTopics;
  /** How a consumed topic is created when missing. */
  partitions: number;
  replicationFactor: number;
  logger: Logger;
  retry?: ConsumerRetryBackoff | undefined;
  /** How long processed_events rows are kept; the platform's default (8 days) when absent. */
  retention?: ProcessedEventsRetention | undefined;
  /** First and largest delay between attempts to reach Kafka at start. */
  connectRetryMs?: { initial: number; max: number };
}

/** The running consumer of the retry queue. */
export interface CashbackConsuming {
  /** Resolves once the consumer has joined its group (never, while Kafka stays unreachable). */
  readonly ready: Promise<void>;
  /** Stops trying to connect, or finishes the event in hand and leaves the group. */
  stop(): Promise<void>;
}

/**
 * Consumes `cashback.v1` and `payments.v1` exactly once in effect (`processed_events`). Kafka
 * being down at start does not stop the service: events wait in Kafka, and connecting is retried
 * in the background with capped backoff.
 */
export function startCashbackConsuming(options: CashbackConsumerOptions): CashbackConsuming {
  const logger = options.logger.child({ component: 'cashback-consumer' });
  const retry = options.connectRetryMs ?? { initial: 500, max: 10_000 };
  const stopping = new AbortController();
  let consumer: IdempotentConsumer | undefined;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const topics = [options.topics.cashback, options.topics.payments];

  void (async () => {
    let delayMs = retry.initial;
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        await ensureTopics(options.kafka, topics, {
          partitions: options.partitions,
          replicationFactor: options.replicationFactor,
          logger,
        });
        const started = await runIdempotentConsumer(options.kafka, {
          groupId: options.groupId,
          topics,
          handler: options.handler,
          runInTransaction: (fn) => options.db.transaction(fn, { label: 'campaign.consume' }),
          logger: options.logger,
          ...(options.retry ? { retry: options.retry } : {}),
          ...(options.retention ? { retention: options.retention } : {}),
        });
        if (stopping.signal.aborted) {
          // stop() was called while this attempt was connecting.
          await started.stop().catch(() => undefined);
          return;
        }
        consumer = started;
        if (failures > 0) logger.info({ failures }, 'Kafka reachable; consuming');
        markReady();
        return;
      } catch (error) {
        failures += 1;
        if (failures === 1) logger.warn({ err: error }, 'Kafka unreachable; deferred grants wait in Kafka');
        try {
          await sleep(delayMs, undefined, { signal: stopping.signal });
        } catch {
          return;
        }
        delayMs = Math.min(delayMs * 2, retry.max);
      }
    }
  })();

  return {
    ready,
    async stop() {
      stopping.abort();
      // A connection attempt in flight cannot be interrupted (kafkajs retries on its own); it
      // stops what it started when it ends, so shutdown does not wait for it.
      await consumer?.stop();
    },
  };
}
