// The gateway as main.ts wires it, against a fresh MariaDB schema, the real Redis and in-process
// fake payment, ledger, bank-integration and campaign-promo servers; driven with fastify's inject.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  createDependencyPolicy,
  createLogger,
  createRedis,
  dependencyPresets,
  presetOptions,
  type Db,
  type DependencyPolicy,
  type Logger,
  type RedisClient,
} from '@koban/platform';
import { createTestDatabase, type TestDatabase } from '@koban/platform/testing';
import {
  createBankIntegrationClient,
  createCampaignClient,
  createLedgerClient,
  createPaymentClient,
} from '../src/downstream-clients.js';
import { buildGatewayApp } from '../src/gateway-app.js';
import type { HttpApp } from '../src/http/app.js';
import type { PartyService } from '../src/parties/party-service.js';
import type { RateLimitSettings } from '../src/rate-limits/rate-limit.js';
import { startFakeBankIntegration, type FakeBankIntegration } from './fakes/fake-bank-integration.js';
import { startFakeCampaign, type FakeCampaign } from './fakes/fake-campaign.js';
import { FakeBook, startFakeLedger, type FakeLedger } from './fakes/fake-ledger.js';
import { startFakePayment, type FakePayment } from './fakes/fake-payment.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface Gateway {
  app: HttpApp;
  parties: PartyService;
  db: Db;
  redis: RedisClient;
  book: FakeBook;
  ledger: FakeLedger;
  payment: FakePayment;
  bankIntegration: FakeBankIntegration;
  campaigns: FakeCampaign;
  close(): Promise<void>;
}

export interface GatewayOptions {
  requestTimeoutMs?: number;
  maxInFlightRequests?: number;
  /** Where the gateway's Redis is; a dead address stands for Redis being down. */
  redisUrl?: string;
  /** Where payment is; by default the fake payment server. */
  paymentAddress?: string;
  /** Where bank-integration is; by default the fake one. */
  bankIntegrationAddress?: string;
  /** The gateway's logger (the fakes log elsewhere, silently). */
  logger?: Logger;
  /** Per-token limits; by default API.md's 200/s, bursts of 400. */
  rateLimit?: RateLimitSettings;
  trustedProxies?: string[];
}

/** A fresh `koban_test_<random>` schema with the gateway's migrations, dropped by `drop()`. */
export function freshDatabase(logger: Logger): Promise<TestDatabase> {
  return createTestDatabase({
    migrationsDir: fileURLToPath(new URL('../migrations/', import.meta.url)),
    poolSize: 4,
    logger,
  });
}

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const fakesLogger = createLogger({ service: 'gateway-test-fakes', level: 'silent' });
  const logger = options.logger ?? fakesLogger;
  const schema = await freshDatabase(fakesLogger);
  const { db } = schema;
  const redis = createRedis({ url: options.redisUrl ?? redisUrl, logger, connectTimeoutMs: 200 });
  await redis.connect().catch(() => undefined);
  const book = new FakeBook();
  const ledger = await startFakeLedger(fakesLogger, book);
  const bankIntegration = await startFakeBankIntegration(fakesLogger);
  const payment = await startFakePayment(fakesLogger, book, bankIntegration);
  const campaigns = await startFakeCampaign(fakesLogger);

  const policies: DependencyPolicy[] = [
    createDependencyPolicy(presetOptions(dependencyPresets.gatewayToPayment, 'gateway'), { logger }),
    createDependencyPolicy(presetOptions(dependencyPresets.gatewayToLedger, 'gateway'), { logger }),
    createDependencyPolicy(presetOptions(dependencyPresets.redis, 'gateway'), { logger }),
    createDependencyPolicy(presetOptions(dependencyPresets.gatewayToBankIntegration, 'gateway'), { logger }),
    createDependencyPolicy(presetOptions(dependencyPresets.gatewayToCampaignPromo, 'gateway'), { logger }),
    createDependencyPolicy(presetOptions(dependencyPresets.gatewayToLedgerAccounts, 'gateway'), { logger }),
  ];
  const [
    paymentPolicy,
    ledgerPolicy,
    redisPolicy,
    bankIntegrationPolicy,
    campaignPolicy,
    ledgerAccountsPolicy,
  ] = policies as [
    DependencyPolicy,
    DependencyPolicy,
    DependencyPolicy,
    DependencyPolicy,
    DependencyPolicy,
    DependencyPolicy,
  ];
  const paymentClient = createPaymentClient(options.paymentAddress ?? payment.address, paymentPolicy, 4_500);
  const ledgerClient = createLedgerClient(ledger.address, ledgerPolicy, 300);
  const ledgerAccountsClient = createLedgerClient(ledger.address, ledgerAccountsPolicy, 1_000);
  const bankIntegrationClient = createBankIntegrationClient(
    options.bankIntegrationAddress ?? bankIntegration.address,
    bankIntegrationPolicy,
    3_000,
  );
  const campaignClient = createCampaignClient(campaigns.address, campaignPolicy, 2_000);

  const { app, parties } = buildGatewayApp({
    logger,
    db,
    redis,
    redisPolicy,
    payment: paymentClient,
    ledger: ledgerClient,
    ledgerAccounts: ledgerAccountsClient,
    bankIntegration: bankIntegrationClient,
    campaigns: campaignClient,
    settings: {
      adminToken: ADMIN_TOKEN,
      requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
      maxInFlightRequests: options.maxInFlightRequests ?? 2_000,
      tokenCacheTtlSeconds: 60,
      balanceCacheTtlSeconds: 600,
      rateLimit: options.rateLimit ?? { perSecond: 200, burst: 400 },
      trustedProxies: options.trustedProxies ?? [],
    },
    readinessChecks: { payment: () => Promise.resolve(true), ledger: () => Promise.resolve(true) },
  });
  await app.ready();

  return {
    app,
    parties,
    db,
    redis,
    book,
    ledger,
    payment,
    bankIntegration,
    campaigns,
    async close() {
      await app.close();
      for (const client of [
        paymentClient,
        ledgerClient,
        ledgerAccountsClient,
        bankIntegrationClient,
        campaignClient,
      ])
        client.close();
      for (const policy of policies) policy.dispose();
      await Promise.all([
        ledger.close(),
        payment.close(),
        bankIntegration.close(),
        campaigns.close(),
        redis.close(),
      ]);
      await schema.drop();
    },
  };
}

export interface TestUser {
  userId: string;
  token: string;
  walletAccountId: string;
}

export interface TestMerchant {
  merchantId: string;
  apiKey: string;
}

interface CallOptions {
  token?: string | undefined;
  body?: unknown;
  rawBody?: string;
  idempotencyKey?: string | undefined;
  headers?: Record<string, string>;
  /** The socket's address the request comes from (default 127.0.0.1). */
  remoteAddress?: string;
}

/** One request through fastify's inject; the JSON body parsed. */
export async function call<Body = Record<string, unknown>>(
  gateway: Gateway,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  options: CallOptions = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  let payload: string | undefined;
  if (options.rawBody !== undefined) payload = options.rawBody;
  else if (options.body !== undefined) payload = JSON.stringify(options.body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const response = await gateway.app.inject({
    method,
    url,
    headers,
    ...(payload !== undefined ? { payload } : {}),
    ...(options.remoteAddress !== undefined ? { remoteAddress: options.remoteAddress } : {}),
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: (response.body.length > 0 ? JSON.parse(response.body) : {}) as Body,
  };
}

export async function createUser(
  gateway: Gateway,
  displayName = `user-${randomUUID().slice(0, 8)}`,
): Promise<TestUser> {
  const response = await call<TestUser>(gateway, 'POST', '/v1/users', { body: { displayName } });
  if (response.status !== 201)
    throw new Error(`create user: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

export async function createMerchant(
  gateway: Gateway,
  name = `shop-${randomUUID().slice(0, 8)}`,
): Promise<TestMerchant> {
  const response = await call<TestMerchant>(gateway, 'POST', '/v1/merchants', {
    body: { name, mcc: '5812' },
  });
  if (response.status !== 201)
    throw new Error(`create merchant: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

export async function credit(gateway: Gateway, userId: string, amount: number): Promise<void> {
  const response = await call(gateway, 'POST', '/v1/admin/credits', {
    token: ADMIN_TOKEN,
    idempotencyKey: randomUUID(),
    body: { userId, amount, currency: 'JPY' },
  });
  if (response.status !== 201) throw new Error(`credit: ${response.status} ${JSON.stringify(response.body)}`);
}

export async function walletBalance(gateway: Gateway, user: TestUser): Promise<number> {
  const response = await call<{ available: number }>(gateway, 'GET', `/v1/users/${user.userId}/balance`, {
    token: user.token,
  });
  if (response.status !== 200)
    throw new Error(`balance: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.available;
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    requestId: string;
    traceId: string;
    details?: Record<string, unknown>;
  };
}
