import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@koban/platform';
import type { CampaignStore } from '../campaigns/campaign-store.js';
import type { BudgetCounter } from './budget-counter.js';

/**
 * Keeps the Redis counters from drifting away from TiDB, TiDB winning: every counter is
 * recomputed as `budget − granted` from the committed row at start, every interval, when Redis
 * reconnects, and for one campaign whenever Redis admitted a grant TiDB then refused.
 *
 * Drift is bounded in both directions by construction: a counter that is too high only lets
 * grants reach TiDB's conditional UPDATE, which refuses them; a counter that is too low (points
 * reserved by a process that died before recording or giving them back) refuses grants early
 * until the next run. Neither can grant past the budget.
 */
export interface BudgetReconciler {
  /** Recomputes every live campaign's counter; answers how many were set. */
  reconcileAll(): Promise<number>;
  /** Recomputes one counter; concurrent calls for one campaign share one run. */
  reconcile(campaignId: string): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export interface BudgetReconcilerDeps {
  campaigns: Pick<CampaignStore, 'budget' | 'liveBudgets'>;
  counter: BudgetCounter;
  intervalMs: number;
  logger: Logger;
  now?: () => Date;
}

/** Campaigns that ended less than this long ago still get their counters kept (late deferred grants). */
const endedGraceMs = 24 * 3_600_000;

export function createBudgetReconciler(deps: BudgetReconcilerDeps): BudgetReconciler {
  const logger = deps.logger.child({ component: 'budget-reconciler' });
  const now = deps.now ?? (() => new Date());
  const inFlight = new Map<string, Promise<void>>();
  const stopping = new AbortController();
  let loop: Promise<void> | undefined;

  async function reconcileAll(): Promise<number> {
    const budgets = await deps.campaigns.liveBudgets(new Date(now().getTime() - endedGraceMs));
    let set = 0;
    for (const budget of budgets) if (await deps.counter.set(budget)) set += 1;
    return set;
  }

  function reconcile(campaignId: string): Promise<void> {
    const running = inFlight.get(campaignId);
    if (running) return running;
    const run = (async () => {
      try {
        const budget = await deps.campaigns.budget(campaignId);
        if (budget) await deps.counter.set(budget);
      } catch (error) {
        logger.warn({ err: error, campaignId }, 'could not reconcile a budget counter');
      } finally {
        inFlight.delete(campaignId);
      }
    })();
    inFlight.set(campaignId, run);
    return run;
  }

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      try {
        await reconcileAll();
      } catch (error) {
        logger.warn({ err: error }, 'budget reconciliation failed; retrying at the next interval');
      }
      try {
        await sleep(deps.intervalMs, undefined, { signal: stopping.signal });
      } catch {
        return;
      }
    }
  }

  return {
    reconcileAll,
    reconcile,
    start() {
      loop ??= run();
    },
    async stop() {
      stopping.abort();
      await loop;
      await Promise.all(inFlight.values());
    },
  };
}
