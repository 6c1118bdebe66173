import { setTimeout as sleep } from 'node:timers/promises';
import type { ResultSetHeader } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { RunInTransaction } from './idempotent-consumer.js';

/**
 * The default age past which `processed_events` rows are purged: 8 days, comfortably longer
 * than the 7 days Kafka keeps the consumed topics (deploy/k8s). A row must outlive every copy of
 * its event that could still be delivered (a group reset to the earliest offset, a rebalance
 * replaying uncommitted offsets), or that copy would be applied again.
 */
export const DEFAULT_PROCESSED_EVENTS_RETENTION_MS = 8 * 24 * 3_600_000;

/** How a consumer's `processed_events` rows are purged. */
export interface ProcessedEventsRetention {
  /** Rows older than this go. Keep it longer than the Kafka retention of the consumed topics. */
  maxAgeMs: number;
  /** Pause between purges; default 1 h. */
  intervalMs?: number;
  /** Rows per DELETE, each its own short transaction; default 500. */
  batchSize?: number;
}

/** What one {@link purgeProcessedEvents} run needs. */
export interface PurgeProcessedEventsOptions {
  groupId: string;
  maxAgeMs: number;
  batchSize: number;
  /** Stops between batches (a shutdown). */
  signal?: AbortSignal;
}

/**
 * Deletes `groupId`'s `processed_events` rows older than `maxAgeMs`, `batchSize` rows per
 * statement, each statement its own transaction (TiDB keeps transactions small; no range of
 * rows stays locked for long), until none is left; answers how many went. The age is measured
 * on the database's clock, the one that stamped `processed_at`.
 */
export async function purgeProcessedEvents(
  runInTransaction: RunInTransaction,
  options: PurgeProcessedEventsOptions,
): Promise<number> {
  let purged = 0;
  while (!options.signal?.aborted) {
    const deleted = await runInTransaction(async (tx) => {
      const [result] = await tx.query<ResultSetHeader>(
        `DELETE FROM processed_events
          WHERE consumer_group = ? AND processed_at < NOW(3) - INTERVAL ? MICROSECOND
          LIMIT ?`,
        [options.groupId, options.maxAgeMs * 1_000, options.batchSize],
      );
      return result.affectedRows;
    });
    purged += deleted;
    if (deleted < options.batchSize) break;
  }
  return purged;
}

/** A running purge loop. */
export interface ProcessedEventsPurger {
  /** Stops the loop; a batch in flight finishes first (not waited on beyond a moment). */
  stop(): Promise<void>;
}

/** Options of {@link startProcessedEventsPurger}. */
export interface ProcessedEventsPurgerOptions {
  groupId: string;
  runInTransaction: RunInTransaction;
  retention: ProcessedEventsRetention;
  logger: Logger;
}

const defaultIntervalMs = 3_600_000;
const defaultBatchSize = 500;
/** How long stop() waits for a batch in flight. */
const stopWaitMs = 2_000;

/**
 * Purges `groupId`'s old `processed_events` rows every `intervalMs` (the first run after a
 * random part of the interval, so that replicas started together do not purge together). A
 * failed run is logged and tried again at the next interval: rows only wait longer.
 */
export function startProcessedEventsPurger(options: ProcessedEventsPurgerOptions): ProcessedEventsPurger {
  const { groupId, runInTransaction, retention } = options;
  const logger = options.logger.child({ component: 'processed-events-retention', groupId });
  const intervalMs = retention.intervalMs ?? defaultIntervalMs;
  const batchSize = retention.batchSize ?? defaultBatchSize;
  const stopping = new AbortController();
  const { signal } = stopping;

  const running = (async () => {
    let delayMs = Math.round(Math.random() * intervalMs);
    for (;;) {
      try {
        await sleep(delayMs, undefined, { signal });
      } catch {
        return;
      }
      delayMs = intervalMs;
      try {
        const purged = await purgeProcessedEvents(runInTransaction, {
          groupId,
          maxAgeMs: retention.maxAgeMs,
          batchSize,
          signal,
        });
        if (purged > 0) logger.info({ purged, maxAgeMs: retention.maxAgeMs }, 'old processed events purged');
      } catch (error) {
        logger.warn({ err: error }, 'could not purge old processed events; trying again later');
      }
    }
  })();

  return {
    async stop() {
      stopping.abort();
      await Promise.race([running, sleep(stopWaitMs, undefined, { ref: false })]);
    },
  };
}
