import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Db } from '../db/db.js';
import { createEventProducer } from '../kafka/event-producer.js';
import { ensureTopics } from '../kafka/topics-admin.js';
import type { DependencyPolicy } from '../resilience/dependency-policy.js';
import { createOutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';

export interface OutboxPublishingOptions {
  kafka: Kafka;
  db: Db;
  /**
   * The service's `<service>→kafka` policy, built in main.ts from `dependencyPresets.kafka`: the
   * relay publishes every batch through it and claims nothing while its breaker is open.
   */
  policy: DependencyPolicy;
  logger: Logger;
  /** Topics the service publishes to, created when missing. */
  topics: readonly string[];
  partitions: number;
  replicationFactor: number;
  /** Passed to the relay (batch size, poll interval, claim TTL...). */
  relay?: Omit<OutboxRelayOptions, 'db' | 'producer' | 'policy' | 'logger'>;
  /** First and largest delay between attempts to reach Kafka at start. */
  retryDelayMs?: { initial: number; max: number };
}

export interface OutboxPublishing {
  /** Stops connecting (if still trying), stops the relay, disconnects the producer. */
  stop(): Promise<void>;
}

/**
 * Runs a service's outbox relay. Kafka being down at start must not stop the service (its
 * events wait in the outbox), so creating the topics and connecting the producer are retried in
 * the background with capped backoff, and the relay starts once they succeed.
 */
export function startOutboxPublishing(options: OutboxPublishingOptions): OutboxPublishing {
  const logger = options.logger.child({ component: 'outbox-publishing' });
  const producer = createEventProducer(options.kafka, { logger: options.logger });
  const relay = createOutboxRelay({
    ...options.relay,
    db: options.db,
    producer,
    policy: options.policy,
    logger: options.logger,
  });
  const retry = options.retryDelayMs ?? { initial: 500, max: 10_000 };
  const stopping = new AbortController();
  let connected = false;

  const connecting = (async () => {
    let delayMs = retry.initial;
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        await ensureTopics(options.kafka, options.topics, {
          partitions: options.partitions,
          replicationFactor: options.replicationFactor,
          logger,
        });
        await producer.connect();
        connected = true;
        if (failures > 0) logger.info({ failures }, 'Kafka reachable; outbox relay starting');
        relay.start();
        return;
      } catch (error) {
        failures += 1;
        // Once per outage, not once per attempt.
        if (failures === 1) logger.warn({ err: error }, 'Kafka unreachable; events wait in the outbox');
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          stopping.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        });
        delayMs = Math.min(delayMs * 2, retry.max);
      }
    }
  })();

  return {
    async stop() {
      stopping.abort();
      // A connect attempt in flight against an unreachable broker can take kafkajs a while to
      // give up; shutdown does not wait for it beyond a moment.
      await Promise.race([connecting, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      await relay.stop();
      if (connected) await producer.disconnect();
    },
  };
}
