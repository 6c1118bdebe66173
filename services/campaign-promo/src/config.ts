import { z } from 'zod';
import { commonEnv, consumerEnv, grpcPortEnv, addressEnv, envInt, dependencyPresets } from '@koban/platform';

/** Every variable the campaign-promo service reads; parsed once in main.ts. */
export const configSchema = z.object({
  ...commonEnv,
  ...consumerEnv,
  GRPC_PORT: grpcPortEnv(50055),
  MYSQL_DATABASE: z.string().default('koban_campaign'),
  LEDGER_ADDR: addressEnv('127.0.0.1:50052'),

  /** Per attempt of a ledger call (credits, clawbacks, account look-ups); one retry. */
  LEDGER_TIMEOUT_MS: envInt().min(50).max(30_000).default(dependencyPresets.campaignPromoToLedger.timeoutMs),

  /** Attempts at a deferred grant before its event goes to `cashback.v1.dlq`. */
  CASHBACK_RETRY_MAX_ATTEMPTS: envInt().min(1).max(100).default(8),
  /** Delay after the first failed attempt; doubled after each one, up to the max. */
  CASHBACK_RETRY_BACKOFF_INITIAL_MS: envInt().min(10).max(3_600_000).default(1_000),
  CASHBACK_RETRY_BACKOFF_MAX_MS: envInt()
    .min(10)
    .max(24 * 3_600_000)
    .default(300_000),
  /** How often the retry worker looks for due deferred grants and unfinished ledger credits. */
  CASHBACK_RETRY_POLL_MS: envInt().min(10).max(60_000).default(250),
  CASHBACK_RETRY_BATCH_SIZE: envInt().min(1).max(1_000).default(50),
  /** A recorded grant or clawback belongs to its request this long before the worker re-sends its transfer. */
  LEDGER_RECOVERY_MIN_AGE_MS: envInt().min(0).max(3_600_000).default(5_000),

  /** How often the Redis budget counters are recomputed from TiDB (TiDB wins). */
  BUDGET_RECONCILE_INTERVAL_MS: envInt().min(100).max(3_600_000).default(10_000),
});

export type Config = z.infer<typeof configSchema>;
