import type { Db, DependencyPolicy, EventHandler, Logger, RedisClient } from '@koban/platform';
import { createRedisBudgetCounter, type BudgetCounter } from './budget/budget-counter.js';
import { createBudgetReconciler, type BudgetReconciler } from './budget/budget-reconciler.js';
import { createBudgetStore } from './budget/budget-store.js';
import { createWorkerLoop, type WorkerLoop } from './background/worker-loop.js';
import { createCampaignService, type CampaignService } from './campaigns/campaign-service.js';
import { createCampaignStore } from './campaigns/campaign-store.js';
import { createClawbackService, type ClawbackService } from './clawbacks/clawback-service.js';
import { createClawbackStore } from './clawbacks/clawback-store.js';
import type { Config } from './config.js';
import { createLedgerPort, type LedgerClient } from './downstream/ledger-port.js';
import type { CashbackTopics } from './events/cashback-events.js';
import { createCampaignHandlers } from './grpc-api.js';
import { createGrantService, type GrantService } from './grants/grant-service.js';
import { createGrantStore } from './grants/grant-store.js';
import { createCashbackEventHandler } from './retry-queue/cashback-consumer.js';
import { createDeferredGrantStore, type DeferredGrantStore } from './retry-queue/deferred-grant-store.js';
import { createRetryWorker } from './retry-queue/retry-worker.js';
import type { CampaignHandlers } from './rpc.js';
import { poolSql } from './sql.js';

/** The settings the features read (a subset of the service config, so tests can pass their own). */
export type CampaignAppConfig = Pick<
  Config,
  | 'CASHBACK_RETRY_MAX_ATTEMPTS'
  | 'CASHBACK_RETRY_BACKOFF_INITIAL_MS'
  | 'CASHBACK_RETRY_BACKOFF_MAX_MS'
  | 'CASHBACK_RETRY_POLL_MS'
  | 'CASHBACK_RETRY_BATCH_SIZE'
  | 'LEDGER_RECOVERY_MIN_AGE_MS'
  | 'BUDGET_RECONCILE_INTERVAL_MS'
>;

export interface CampaignAppDeps {
  config: CampaignAppConfig;
  db: Db;
  redis: Pick<RedisClient, 'eval' | 'set' | 'get'>;
  /** campaign-promo→redis: 100 ms, breaker, no retry; the fallback is TiDB alone. */
  redisPolicy: DependencyPolicy;
  /** Built with the campaign-promo→ledger policy. */
  ledgerClient: LedgerClient;
  topics: CashbackTopics;
  logger: Logger;
  /** Namespace of the Redis budget counters (tests isolate runs with it). */
  redisKeyPrefix?: string;
  now?: () => Date;
}

export interface CampaignApp {
  handlers: CampaignHandlers;
  /** Applies consumed events: CashbackDeferred and PENDING PaymentCompleted queue grants, PaymentRefunded claws back. */
  consumerHandler: EventHandler;
  /** The retry queue's worker and the recovery of unfinished ledger transfers. */
  worker: WorkerLoop;
  reconciler: BudgetReconciler;
  counter: BudgetCounter;
  campaigns: CampaignService;
  grants: GrantService;
  clawbacks: ClawbackService;
  deferredGrants: DeferredGrantStore;
}

/** A clawback whose payment still has no grant after this long is closed with nothing taken back. */
const awaitingGrantMaxMs = 7 * 24 * 3_600_000;
/** Finished retry-queue rows are kept this long (for operators), then deleted. */
const doneRetentionMs = 7 * 24 * 3_600_000;

/** Builds the features from their dependencies: what main.ts serves, and what tests drive. */
export function createCampaignApp(deps: CampaignAppDeps): CampaignApp {
  const { config, db, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const sql = poolSql(db);
  const ledger = createLedgerPort(deps.ledgerClient);
  const campaignStore = createCampaignStore(sql);
  const grantStore = createGrantStore(sql);
  const budgets = createBudgetStore();
  const deferredGrants = createDeferredGrantStore(sql);
  const backoff = {
    initialMs: config.CASHBACK_RETRY_BACKOFF_INITIAL_MS,
    maxMs: config.CASHBACK_RETRY_BACKOFF_MAX_MS,
  };

  const counter = createRedisBudgetCounter({
    redis: deps.redis,
    policy: deps.redisPolicy,
    logger,
    ...(deps.redisKeyPrefix === undefined ? {} : { keyPrefix: deps.redisKeyPrefix }),
    now,
  });
  const reconciler = createBudgetReconciler({
    campaigns: campaignStore,
    counter,
    intervalMs: config.BUDGET_RECONCILE_INTERVAL_MS,
    logger,
    now,
  });
  const campaigns = createCampaignService({ db, store: campaignStore, ledger, counter, logger, now });
  const grants = createGrantService({
    db,
    grants: grantStore,
    campaigns: campaignStore,
    budgets,
    counter,
    reconciler,
    ledger,
    cashbackTopic: deps.topics.cashback,
    recoveryMinAgeMs: config.LEDGER_RECOVERY_MIN_AGE_MS,
    recoveryBackoff: backoff,
    logger,
    now,
  });
  const clawbacks = createClawbackService({
    db,
    clawbacks: createClawbackStore(sql),
    grants: grantStore,
    grantService: grants,
    budgets,
    counter,
    ledger,
    cashbackTopic: deps.topics.cashback,
    recoveryMinAgeMs: config.LEDGER_RECOVERY_MIN_AGE_MS,
    recoveryBackoff: backoff,
    awaitingGrantMaxMs,
    logger,
    now,
  });
  const retryWorker = createRetryWorker({
    db,
    store: deferredGrants,
    grants,
    maxAttempts: config.CASHBACK_RETRY_MAX_ATTEMPTS,
    backoff,
    deadLetterTopic: deps.topics.cashbackDeadLetter,
    concurrency: 8,
    logger,
  });
  const worker = createWorkerLoop({
    tasks: [
      { name: 'deferred-grants', run: (limit) => retryWorker.runDue(limit) },
      { name: 'uncredited-grants', run: (limit) => grants.recoverUncredited(limit) },
      { name: 'pending-clawbacks', run: (limit) => clawbacks.recoverPending(limit) },
      { name: 'awaiting-clawbacks', run: (limit) => clawbacks.settleAwaiting(limit) },
    ],
    intervalMs: config.CASHBACK_RETRY_POLL_MS,
    batchSize: config.CASHBACK_RETRY_BATCH_SIZE,
    housekeeping: {
      everyRounds: 1_000,
      run: () => deferredGrants.purgeDone(new Date(now().getTime() - doneRetentionMs), 1_000),
    },
    logger,
  });

  return {
    handlers: createCampaignHandlers({ campaigns, grants, clawbacks }),
    consumerHandler: createCashbackEventHandler({
      store: deferredGrants,
      clawbacks,
      topics: deps.topics,
      logger,
      now,
    }),
    worker,
    reconciler,
    counter,
    campaigns,
    grants,
    clawbacks,
    deferredGrants,
  };
}
