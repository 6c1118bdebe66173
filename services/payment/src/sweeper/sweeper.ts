import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@koban/platform';

/** One kind of stuck work: drives up to `limit` items forward, answers how many it looked at. */
export interface SweepTask {
  name: string;
  run(limit: number): Promise<number>;
}

export interface SweeperSettings {
  /** Stuck payments, refunds and P2P transfers; PROCESSING top-ups. */
  tasks: readonly SweepTask[];
  /** Expired idempotency keys; answers how many were deleted. */
  housekeeping: (limit: number) => Promise<number>;
  /** Pause between sweeps (`SWEEPER_INTERVAL_MS`). */
  intervalMs: number;
  /** Items per task per sweep (`SWEEPER_BATCH_SIZE`). */
  batchSize: number;
  logger: Logger;
}

/** The background loop that finishes what requests left PENDING. */
export interface Sweeper {
  /** Starts the loop; calling it again does nothing. */
  start(): void;
  /** Stops the loop and waits for the sweep in progress to end. */
  stop(): Promise<void>;
  /** One sweep of every task, then housekeeping; answers how many items each task looked at. */
  runOnce(): Promise<Record<string, number>>;
}

export function createSweeper(settings: SweeperSettings): Sweeper {
  const logger = settings.logger.child({ component: 'sweeper' });
  let loop: Promise<void> | undefined;
  const stopping = new AbortController();

  async function runOnce(): Promise<Record<string, number>> {
    const looked: Record<string, number> = {};
    for (const task of settings.tasks) {
      try {
        looked[task.name] = await task.run(settings.batchSize);
      } catch (error) {
        // The database is down, most likely: the next sweep tries again.
        looked[task.name] = 0;
        logger.warn({ err: error, task: task.name }, 'sweep task failed');
      }
    }
    try {
      const purged = await settings.housekeeping(settings.batchSize * 10);
      if (purged > 0) logger.debug({ purged }, 'purged expired idempotency keys');
    } catch (error) {
      logger.warn({ err: error }, 'idempotency key housekeeping failed');
    }
    const total = Object.values(looked).reduce((sum, count) => sum + count, 0);
    if (total > 0) logger.info({ looked }, 'sweep drove stuck work forward');
    return looked;
  }

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      const looked = await runOnce();
      // A full batch means more is waiting: sweep again at once rather than after the pause.
      const full = Object.values(looked).some((count) => count >= settings.batchSize);
      if (full) continue;
      try {
        await sleep(settings.intervalMs, undefined, { signal: stopping.signal });
      } catch {
        return;
      }
    }
  }

  return {
    start() {
      if (loop !== undefined) return;
      logger.info({ intervalMs: settings.intervalMs, batchSize: settings.batchSize }, 'sweeper started');
      loop = run();
    },
    async stop() {
      stopping.abort();
      await loop;
      if (loop !== undefined) logger.info('sweeper stopped');
    },
    runOnce,
  };
}
