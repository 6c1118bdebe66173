import {
  serviceMeter,
  type Db,
  type DependencyPolicy,
  type EventHandler,
  type Logger,
  type Meter,
} from '@koban/platform';
import { createCashbackStatusHandler } from './cashback/cashback-status-consumer.js';
import type { Config } from './config.js';
import { createBankPort, type BankClient } from './downstream/bank-port.js';
import { createCampaignPort, type CampaignClient } from './downstream/campaign-port.js';
import { createLedgerPort, type LedgerClient } from './downstream/ledger-port.js';
import { createRiskCheck, type FraudClient } from './downstream/risk-check.js';
import { createPaymentHandlers } from './grpc-api.js';
import { createIdempotencyService, type MarkerRedis } from './idempotency/idempotency-service.js';
import { createIdempotencyStore } from './idempotency/idempotency-store.js';
import { encodeCreatePaymentResponse } from './payment/payment-grpc.js';
import { paymentMetrics } from './payment/payment-metrics.js';
import { createPaymentService } from './payment/payment-service.js';
import { createPaymentStore } from './payment/payment-store.js';
import { createQrCodeService } from './qr/qr-code-service.js';
import { createQrCodeStore } from './qr/qr-code-store.js';
import { encodeCreateRefundResponse } from './refund/refund-grpc.js';
import { createRefundService } from './refund/refund-service.js';
import { createRefundStore } from './refund/refund-store.js';
import type { PaymentHandlers } from './rpc.js';
import { poolSql } from './sql.js';
import type { RecoveryTimings } from './sweeper/recovery.js';
import { createSweeper, type Sweeper } from './sweeper/sweeper.js';
import { encodeCreateTopupResponse } from './topup/topup-grpc.js';
import { createTopupService } from './topup/topup-service.js';
import { createTopupStore } from './topup/topup-store.js';
import { encodeCreateTransferResponse } from './transfer/transfer-grpc.js';
import { createTransferService } from './transfer/transfer-service.js';
import { createTransferStore } from './transfer/transfer-store.js';

/** The settings the features read (a subset of the service config, so tests can pass their own). */
export type PaymentAppConfig = Pick<
  Config,
  | 'FRAUD_FALLBACK_MAX_AMOUNT'
  | 'CAMPAIGN_TIMEOUT_MS'
  | 'TOPUP_RETRY_DEADLINE_MS'
  | 'IDEMPOTENCY_LEASE_MS'
  | 'IDEMPOTENCY_RETENTION_HOURS'
  | 'SWEEPER_INTERVAL_MS'
  | 'SWEEPER_BATCH_SIZE'
  | 'SWEEPER_MIN_AGE_MS'
  | 'PENDING_RETRY_DEADLINE_MS'
  | 'PENDING_FAIL_QUIET_MS'
  | 'QR_MERCHANT_NAME'
  | 'QR_MERCHANT_CITY'
  | 'QR_MERCHANT_MCC'
>;

export interface PaymentAppDeps {
  config: PaymentAppConfig;
  db: Db;
  redis: MarkerRedis;
  /** Built with the payment→ledger policy. */
  ledgerClient: LedgerClient;
  /** Built without a policy: the risk check applies `fraudPolicy` with its fallback. */
  fraudClient: FraudClient;
  /** Built with the payment→bank-integration policy (3 s, breaker). */
  bankClient: BankClient;
  /** Built with the payment→campaign-promo policy (2 s, breaker); never waited on beyond CAMPAIGN_TIMEOUT_MS. */
  campaignClient: CampaignClient;
  fraudPolicy: DependencyPolicy;
  redisPolicy: DependencyPolicy;
  logger: Logger;
  now?: () => Date;
  /** Where the payment metrics go; `serviceMeter('koban-payment')` by default. */
  meter?: Meter;
}

export interface PaymentApp {
  handlers: PaymentHandlers;
  sweeper: Sweeper;
  /** Applies consumed `cashback.v1` events: a late CashbackGranted settles a PENDING cashback. */
  cashbackStatusHandler: EventHandler;
}

/** Builds the features from their dependencies: what main.ts serves, and what tests drive. */
export function createPaymentApp(deps: PaymentAppDeps): PaymentApp {
  const { config, db, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const sql = poolSql(db);
  const ledger = createLedgerPort(deps.ledgerClient);
  const bank = createBankPort(deps.bankClient);
  const campaign = createCampaignPort({
    client: deps.campaignClient,
    budgetMs: config.CAMPAIGN_TIMEOUT_MS,
    logger,
  });
  const timings: RecoveryTimings = {
    retryDeadlineMs: config.PENDING_RETRY_DEADLINE_MS,
    failQuietMs: config.PENDING_FAIL_QUIET_MS,
    sweepBackoffBaseMs: config.SWEEPER_INTERVAL_MS,
    minAgeMs: config.SWEEPER_MIN_AGE_MS,
  };
  const idempotency = createIdempotencyService({
    store: createIdempotencyStore(sql),
    redis: deps.redis,
    redisPolicy: deps.redisPolicy,
    logger,
    leaseMs: config.IDEMPOTENCY_LEASE_MS,
    retentionMs: config.IDEMPOTENCY_RETENTION_HOURS * 3_600_000,
  });
  const qrCodes = createQrCodeService({
    store: createQrCodeStore(sql),
    ledger,
    print: {
      merchantName: config.QR_MERCHANT_NAME,
      merchantCity: config.QR_MERCHANT_CITY,
      mcc: config.QR_MERCHANT_MCC,
      countryCode: 'JP',
    },
    now,
  });
  const paymentStore = createPaymentStore(sql);
  const payments = createPaymentService({
    db,
    store: paymentStore,
    idempotency,
    ledger,
    bank,
    campaign,
    risk: createRiskCheck({
      client: deps.fraudClient,
      policy: deps.fraudPolicy,
      fallbackMaxAmount: config.FRAUD_FALLBACK_MAX_AMOUNT,
      logger,
    }),
    qrCodes,
    encodeResponse: encodeCreatePaymentResponse,
    timings,
    now,
    logger,
    metrics: paymentMetrics(deps.meter ?? serviceMeter('koban-payment')),
  });
  const refunds = createRefundService({
    db,
    store: createRefundStore(sql),
    idempotency,
    ledger,
    campaign,
    encodeResponse: encodeCreateRefundResponse,
    timings,
    now,
    logger,
  });
  const transfers = createTransferService({
    db,
    store: createTransferStore(sql),
    idempotency,
    ledger,
    encodeResponse: encodeCreateTransferResponse,
    timings,
    now,
    logger,
  });
  const topups = createTopupService({
    db,
    store: createTopupStore(sql),
    idempotency,
    ledger,
    bank,
    encodeResponse: encodeCreateTopupResponse,
    // A top-up is charged again for longer than a payment is retried (see the config).
    timings: { ...timings, retryDeadlineMs: config.TOPUP_RETRY_DEADLINE_MS },
    now,
    logger,
  });
  const sweeper = createSweeper({
    tasks: [
      { name: 'payments', run: (limit) => payments.recoverStuck(limit) },
      { name: 'refunds', run: (limit) => refunds.recoverStuck(limit) },
      { name: 'transfers', run: (limit) => transfers.recoverStuck(limit) },
      // The top-up retrier: finishes PROCESSING top-ups once bank-integration answers.
      { name: 'topups', run: (limit) => topups.recoverStuck(limit) },
    ],
    housekeeping: (limit) => idempotency.purgeExpired(limit),
    intervalMs: config.SWEEPER_INTERVAL_MS,
    batchSize: config.SWEEPER_BATCH_SIZE,
    logger,
  });
  return {
    handlers: createPaymentHandlers({ qrCodes, payments, refunds, transfers, topups }),
    sweeper,
    cashbackStatusHandler: createCashbackStatusHandler({ store: paymentStore, logger }),
  };
}
