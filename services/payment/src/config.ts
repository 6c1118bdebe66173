import { z } from 'zod';
import {
  commonEnv,
  consumerEnv,
  grpcPortEnv,
  addressEnv,
  envBool,
  envInt,
  dependencyPresets,
} from '@koban/platform';

/** Text the QR encoder can print: printable ASCII. */
const qrText = (max: number) =>
  z.string().regex(new RegExp(`^[\\x20-\\x7e]{1,${max}}$`), `1 to ${max} printable ASCII characters`);

/** Every variable the payment service reads; parsed once in main.ts. */
export const configSchema = z.object({
  ...commonEnv,
  ...consumerEnv,
  GRPC_PORT: grpcPortEnv(50051),
  MYSQL_DATABASE: z.string().default('koban_payment'),
  LEDGER_ADDR: addressEnv('127.0.0.1:50052'),
  FRAUD_ADDR: addressEnv('127.0.0.1:50054'),
  BANK_INTEGRATION_ADDR: addressEnv('127.0.0.1:50053'),
  CAMPAIGN_ADDR: addressEnv('127.0.0.1:50055'),

  /** Per-attempt budget of a bank-integration call (charges, cards); beyond it a top-up answers PROCESSING. */
  BANK_INTEGRATION_TIMEOUT_MS: envInt()
    .min(100)
    .max(30_000)
    .default(dependencyPresets.paymentToBankIntegration.timeoutMs),
  /** The most a payment or refund waits on campaign-promo; beyond it cashback is deferred (PENDING). */
  CAMPAIGN_TIMEOUT_MS: envInt()
    .min(50)
    .max(10_000)
    .default(dependencyPresets.paymentToCampaignPromo.timeoutMs),

  /** While fraud is slow, failing or behind an open breaker: allow payments up to this many yen, decline above. */
  FRAUD_FALLBACK_MAX_AMOUNT: envInt().min(0).max(10_000_000).default(50_000),
  /** How long a request holds its idempotency key before a retry may take over its work. */
  IDEMPOTENCY_LEASE_MS: envInt().min(1_000).max(300_000).default(10_000),
  /** How long idempotency keys are kept after use; the API promises at least 24 h. */
  IDEMPOTENCY_RETENTION_HOURS: envInt()
    .min(24)
    .max(24 * 90)
    .default(24),

  /** The sweeper drives PENDING payments, refunds and P2P transfers left behind by failed requests. */
  SWEEPER_ENABLED: envBool().default(true),
  SWEEPER_INTERVAL_MS: envInt().min(100).max(600_000).default(2_000),
  SWEEPER_BATCH_SIZE: envInt().min(1).max(1_000).default(50),
  /** A new resource belongs to its request this long before the sweeper may touch it. */
  SWEEPER_MIN_AGE_MS: envInt().min(0).max(600_000).default(10_000),
  /** Until this age a stuck transfer is sent again (same transfer id); after it, it is abandoned. */
  PENDING_RETRY_DEADLINE_MS: envInt()
    .min(1_000)
    .max(24 * 3_600_000)
    .default(120_000),
  /**
   * Until this age a PROCESSING top-up whose charge bank-integration never recorded is charged
   * again (same charge id); after it, it fails as TIMED_OUT. Longer than for payments: the user
   * was told the top-up finishes when the bank recovers.
   */
  TOPUP_RETRY_DEADLINE_MS: envInt()
    .min(1_000)
    .max(7 * 24 * 3_600_000)
    .default(3_600_000),
  /** Abandon (FAILED) only once no transfer was sent for this long, so none can still be in flight. */
  PENDING_FAIL_QUIET_MS: envInt().min(1_000).max(3_600_000).default(30_000),

  /** Printed in every QR code (dev defaults; merchant names live at the gateway). */
  QR_MERCHANT_NAME: qrText(25).default('KOBAN MERCHANT'),
  QR_MERCHANT_CITY: qrText(15).default('TOKYO'),
  QR_MERCHANT_MCC: z
    .string()
    .regex(/^\d{4}$/, 'four digits')
    .default('5999'),
});

export type Config = z.infer<typeof configSchema>;
