import { randomUUID } from 'node:crypto';
import {
  createDependencyPolicy,
  createGrpcClient,
  createGrpcServer,
  createInMemoryMetrics,
  createLogger,
  createRedis,
  dependencyPresets,
  loadProtos,
  presetOptions,
  type BreakerSettings,
  type Db,
  type DependencyPolicy,
  type GrpcClient,
  type InMemoryMetrics,
  type UnaryCallOptions,
} from '@koban/platform';
import { createPaymentApp, type PaymentApp, type PaymentAppConfig } from '../../src/app.js';
import { paymentErrorStatus } from '../../src/grpc-api.js';
import type { PaymentServiceDefinition } from '../../src/rpc.js';
import { poolSql, type Row } from '../../src/sql.js';
import { startFakeBankIntegration, type FakeBankIntegration } from './fake-bank-integration.js';
import { startFakeCampaign, type FakeCampaign } from './fake-campaign.js';
import { startFakeFraud, type FakeFraud } from './fake-fraud.js';
import { startFakeLedger, type FakeLedger } from '@koban/platform/testing';
import { metadataWith } from './grpc-metadata.js';
import { freshDatabase } from './test-database.js';

export type PaymentClient = GrpcClient<PaymentServiceDefinition>;

export const testConfig: PaymentAppConfig = {
  FRAUD_FALLBACK_MAX_AMOUNT: 50_000,
  CAMPAIGN_TIMEOUT_MS: 2_000,
  TOPUP_RETRY_DEADLINE_MS: 3_600_000,
  IDEMPOTENCY_LEASE_MS: 10_000,
  IDEMPOTENCY_RETENTION_HOURS: 24,
  SWEEPER_INTERVAL_MS: 50,
  SWEEPER_BATCH_SIZE: 50,
  // The sweeper is run by hand in most tests; it may look at anything at once.
  SWEEPER_MIN_AGE_MS: 0,
  PENDING_RETRY_DEADLINE_MS: 120_000,
  PENDING_FAIL_QUIET_MS: 30_000,
  QR_MERCHANT_NAME: 'Koban Test Shop',
  QR_MERCHANT_CITY: 'Tokyo',
  QR_MERCHANT_MCC: '5812',
};

export interface HarnessOptions {
  /** `redis://127.0.0.1:1` stands for Redis being down. */
  redisUrl?: string;
  config?: Partial<PaymentAppConfig>;
  /**
   * Breaker settings of the bank-integration and campaign-promo policies. By default their
   * breakers never open (a test taking a fake down must not leave it open for the next one);
   * `{}` gives the production defaults.
   */
  breakers?: { bank?: Partial<BreakerSettings>; campaign?: Partial<BreakerSettings> };
  /** The per-attempt timeout of bank-integration calls (production: 3 s). */
  bankTimeoutMs?: number;
}

/**
 * The real payment gRPC server, in process on a random port, against a fresh MariaDB schema and
 * real Redis, with in-process fakes of the ledger, fraud, bank-integration and campaign-promo
 * services.
 */
export interface Harness {
  client: PaymentClient;
  ledger: FakeLedger;
  fraud: FakeFraud;
  bank: FakeBankIntegration;
  campaign: FakeCampaign;
  /** The policies the payment app calls them through. */
  policies: { bank: DependencyPolicy; campaign: DependencyPolicy };
  db: Db;
  app: PaymentApp;
  /** What the app recorded on its meter (`koban.payments`...). */
  metrics: InMemoryMetrics;
  /** A user with a JPY wallet holding `balance` yen, and a POINTS account. */
  newUser(balance?: number): { userId: string; accountId: string; pointsAccountId: string };
  /** A merchant with a JPY takings account. */
  newMerchant(): { merchantId: string; accountId: string };
  rows(sql: string, params?: ReadonlyArray<string | number>): Promise<Row[]>;
  /** Call options carrying the given metadata entries. */
  withMetadata(entries: Readonly<Record<string, string>>): UnaryCallOptions;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const logger = createLogger({ service: 'payment', level: 'silent' });
  const [database, ledger, fraud, bank, campaign] = await Promise.all([
    freshDatabase(),
    startFakeLedger(),
    startFakeFraud(),
    startFakeBankIntegration(),
    startFakeCampaign(),
  ]);
  const redis = createRedis({
    url: options.redisUrl ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    logger,
    name: 'payment-test',
  });
  await redis.connect().catch(() => undefined);

  // The production presets, with breakers that only trip when a test means them to: tests that
  // take the ledger down must not leave it "open" for the next test.
  const quietBreaker = { breaker: { consecutiveFailures: 1_000, minimumCalls: 1_000 } };
  const ledgerPolicy = createDependencyPolicy(
    presetOptions(dependencyPresets.paymentToLedger, 'payment', quietBreaker),
    { logger },
  );
  const fraudPolicy = createDependencyPolicy(
    presetOptions(dependencyPresets.paymentToFraud, 'payment', quietBreaker),
    { logger },
  );
  const redisPolicy = createDependencyPolicy(
    presetOptions(dependencyPresets.redis, 'payment', quietBreaker),
    {
      logger,
    },
  );
  const bankTimeoutMs = options.bankTimeoutMs ?? dependencyPresets.paymentToBankIntegration.timeoutMs;
  const bankPolicy = createDependencyPolicy(
    presetOptions(dependencyPresets.paymentToBankIntegration, 'payment', {
      timeoutMs: bankTimeoutMs,
      breaker: options.breakers?.bank ?? quietBreaker.breaker,
    }),
    { logger },
  );
  const campaignTimeoutMs = options.config?.CAMPAIGN_TIMEOUT_MS ?? testConfig.CAMPAIGN_TIMEOUT_MS;
  const campaignPolicy = createDependencyPolicy(
    presetOptions(dependencyPresets.paymentToCampaignPromo, 'payment', {
      timeoutMs: campaignTimeoutMs,
      breaker: options.breakers?.campaign ?? quietBreaker.breaker,
    }),
    { logger },
  );

  const protos = loadProtos();
  const ledgerClient = createGrpcClient(protos.koban.ledger.v1.LedgerService, ledger.address, {
    timeoutMs: dependencyPresets.paymentToLedger.timeoutMs,
    policy: ledgerPolicy,
  });
  const fraudClient = createGrpcClient(protos.koban.fraud.v1.FraudService, fraud.address, {
    timeoutMs: dependencyPresets.paymentToFraud.timeoutMs,
  });
  const bankClient = createGrpcClient(protos.koban.bankintegration.v1.BankIntegrationService, bank.address, {
    timeoutMs: bankTimeoutMs,
    policy: bankPolicy,
  });
  const campaignClient = createGrpcClient(protos.koban.campaign.v1.CampaignService, campaign.address, {
    timeoutMs: campaignTimeoutMs,
    policy: campaignPolicy,
  });

  const metrics = createInMemoryMetrics();
  const app = createPaymentApp({
    meter: metrics.meter,
    config: { ...testConfig, ...options.config },
    db: database.db,
    redis,
    ledgerClient,
    fraudClient,
    bankClient,
    campaignClient,
    fraudPolicy,
    redisPolicy,
    logger,
  });
  const server = createGrpcServer({
    serviceName: 'payment',
    logger,
    domainErrorStatus: paymentErrorStatus,
    host: '127.0.0.1',
  });
  server.addService(protos.koban.payment.v1.PaymentService.service, app.handlers);
  const port = await server.listen(0);
  const client = createGrpcClient(protos.koban.payment.v1.PaymentService, `127.0.0.1:${port}`, {
    timeoutMs: 15_000,
  });
  const sql = poolSql(database.db);

  return {
    client,
    ledger,
    fraud,
    bank,
    campaign,
    policies: { bank: bankPolicy, campaign: campaignPolicy },
    db: database.db,
    app,
    metrics,
    newUser(balance = 0) {
      const userId = `usr_${randomUUID()}`;
      return {
        userId,
        accountId: ledger.open('OWNER_TYPE_USER', userId, balance),
        pointsAccountId: ledger.openPoints(userId),
      };
    },
    newMerchant() {
      const merchantId = `mch_${randomUUID()}`;
      return { merchantId, accountId: ledger.open('OWNER_TYPE_MERCHANT', merchantId) };
    },
    rows: (statement, params = []) => sql.rows(statement, params),
    withMetadata: (entries) => ({ metadata: metadataWith(entries) }),
    async close() {
      await app.sweeper.stop();
      client.close();
      await server.shutdown(0);
      for (const downstream of [ledgerClient, fraudClient, bankClient, campaignClient]) downstream.close();
      for (const policy of [ledgerPolicy, fraudPolicy, redisPolicy, bankPolicy, campaignPolicy])
        policy.dispose();
      await redis.close();
      await Promise.all([ledger.close(), fraud.close(), bank.close(), campaign.close()]);
      await metrics.shutdown();
      await database.drop();
    },
  };
}

/** A fresh idempotency key. */
export const newKey = (): string => `key-${randomUUID()}`;

/** Polls `probe` until it answers a value, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
