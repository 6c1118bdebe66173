import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import {
  runIdempotentConsumer,
  type IdempotentConsumer,
  type IdempotentConsumerOptions,
} from './idempotent-consumer.js';
import { ensureTopics } from './topics-admin.js';

/** Options of {@link startBackgroundConsumer}. */
export interface BackgroundConsumerOptions extends IdempotentConsumerOptions {
  /** How a missing consumed topic is created (as its producers create it). */
  partitions: number;
  replicationFactor: number;
  /** First and largest delay between attempts to reach Kafka; default 500 ms doubling to 10 s. */
  connectRetryMs?: { initial: number; max: number };
}

/** A consumer started by {@link startBackgroundConsumer}. */
export interface BackgroundConsumer {
  /** Resolves once the consumer has joined its group (never, while Kafka stays unreachable). */
  readonly ready: Promise<void>;
  /** Stops trying to connect, or finishes the event in hand and leaves the group. */
  stop(): Promise<void>;
}

/** How long stop() waits for a connection attempt in flight. */
const stopWaitMs = 2_000;

/**
 * Starts {@link runIdempotentConsumer} without making the service wait for Kafka: the consumed
 * topics are created if missing and the group joined in the background, retried with capped
 * backoff while Kafka is unreachable (logged once per outage). Events wait in Kafka meanwhile.
 */
export function startBackgroundConsumer(
  kafka: Kafka,
  options: BackgroundConsumerOptions,
): BackgroundConsumer {
  const { partitions, replicationFactor, connectRetryMs, ...consumerOptions } = options;
  const logger = options.logger.child({ component: 'background-consumer', groupId: options.groupId });
  const retry = connectRetryMs ?? { initial: 500, max: 10_000 };
  const stopping = new AbortController();
  let consumer: IdempotentConsumer | undefined;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const connecting = (async () => {
    let delayMs = retry.initial;
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        await ensureTopics(kafka, options.topics, { partitions, replicationFactor, logger });
        if (stopping.signal.aborted) return;
        const started = await runIdempotentConsumer(kafka, consumerOptions);
        if (stopping.signal.aborted) {
          // stop() gave up waiting for this attempt: leave at once.
          await started.stop().catch(() => undefined);
          return;
        }
        consumer = started;
        logger.info({ topics: options.topics, failures }, 'consumer running');
        markReady();
        return;
      } catch (error) {
        failures += 1;
        if (failures === 1) logger.warn({ err: error }, 'Kafka unreachable; events wait in Kafka');
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
      // An attempt in flight against an unreachable broker can take kafkajs' own retries to fail;
      // shutdown does not wait for it beyond a moment (the attempt stops what it started).
      await Promise.race([connecting, sleep(stopWaitMs, undefined, { ref: false })]);
      await consumer?.stop();
    },
  };
}
