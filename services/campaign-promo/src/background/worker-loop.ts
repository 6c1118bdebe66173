import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@koban/platform';

/** One kind of background work: handles up to `limit` due items, answers how many it looked at. */
export interface WorkerTask {
  name: string;
  run(limit: number): Promise<number>;
}

export interface WorkerLoopSettings {
  tasks: readonly WorkerTask[];
  /** Pause between rounds while nothing is waiting. */
  intervalMs: number;
  /** Items per task per round. */
  batchSize: number;
  /** Runs every this many rounds (deleting finished rows). */
  housekeeping?: { everyRounds: number; run: () => Promise<number> } | undefined;
  logger: Logger;
}

/** The background loop of the retry queue and of unfinished ledger transfers. */
export interface WorkerLoop {
  /** Starts the loop; calling it again while it runs does nothing. */
  start(): void;
  /** Stops the loop and waits for the round in progress; `start` may run it again. */
  stop(): Promise<void>;
  /** One round of every task; answers how many items each looked at. */
  runOnce(): Promise<Record<string, number>>;
}

export function createWorkerLoop(settings: WorkerLoopSettings): WorkerLoop {
  const logger = settings.logger.child({ component: 'worker' });
  let stopping = new AbortController();
  let loop: Promise<void> | undefined;
  let rounds = 0;

  async function runOnce(): Promise<Record<string, number>> {
    const looked: Record<string, number> = {};
    for (const task of settings.tasks) {
      try {
        looked[task.name] = await task.run(settings.batchSize);
      } catch (error) {
        // The database is down, most likely: the next round tries again.
        looked[task.name] = 0;
        logger.warn({ err: error, task: task.name }, 'background task failed');
      }
    }
    rounds += 1;
    const housekeeping = settings.housekeeping;
    if (housekeeping && rounds % housekeeping.everyRounds === 0) {
      try {
        const purged = await housekeeping.run();
        if (purged > 0) logger.debug({ purged }, 'purged finished rows');
      } catch (error) {
        logger.warn({ err: error }, 'housekeeping failed');
      }
    }
    return looked;
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const looked = await runOnce();
      // A full batch means more is waiting: go again at once rather than after the pause.
      if (Object.values(looked).some((count) => count >= settings.batchSize)) continue;
      try {
        await sleep(settings.intervalMs, undefined, { signal });
      } catch {
        return;
      }
    }
  }

  return {
    start() {
      if (loop !== undefined) return;
      logger.info({ intervalMs: settings.intervalMs, batchSize: settings.batchSize }, 'worker started');
      stopping = new AbortController();
      loop = run(stopping.signal);
    },
    async stop() {
      stopping.abort();
      await loop;
      loop = undefined;
    },
    runOnce,
  };
}
