// campaign-promo as its component tests drive it: the real gRPC server on port 0, built from the
// service's own modules like main.ts builds it, against a fresh MariaDB schema (dropped after),
// the local Redis (or none), the local Kafka with fresh topic names, and a fake ledger.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  EVENT_TYPE_HEADER,
  buildEnvelope,
  createDependencyPolicy,
  createEventProducer,
  createGrpcClient,
  createGrpcServer,
  createKafka,
  createLogger,
  createRedis,
  dependencyPresets,
  encodeEnvelope,
  ensureTopics,
  loadProtos,
  presetOptions,
  startOutboxPublishing,
  toTimestamp,
  type Db,
  type EnvelopeEvent,
  type EventProducer,
  type GrpcClient,
  type OutboxPublishing,
  type RedisClient,
} from '@koban/platform';
import { createCampaignApp, type CampaignApp, type CampaignAppConfig } from '../../src/app.js';
import type { CashbackTopics } from '../../src/events/cashback-events.js';
import { campaignErrorStatus } from '../../src/grpc-api.js';
import { startCashbackConsuming, type CashbackConsuming } from '../../src/retry-queue/cashback-consumer.js';
import type { CampaignServiceDefinition, RpcRequest } from '../../src/rpc.js';
import { poolSql, type Row } from '../../src/sql.js';
import { startFakeLedger, type FakeLedger } from '@koban/platform/testing';
import { freshDatabase } from './test-database.js';

export type CampaignClient = GrpcClient<CampaignServiceDefinition>;
type Kafka = ReturnType<typeof createKafka>;

export const testConfig: CampaignAppConfig = {
  CASHBACK_RETRY_MAX_ATTEMPTS: 3,
  CASHBACK_RETRY_BACKOFF_INITIAL_MS: 50,
  CASHBACK_RETRY_BACKOFF_MAX_MS: 200,
  CASHBACK_RETRY_POLL_MS: 50,
  CASHBACK_RETRY_BATCH_SIZE: 50,
  // The worker is run by hand in most tests; it may look at anything at once.
  LEDGER_RECOVERY_MIN_AGE_MS: 0,
  BUDGET_RECONCILE_INTERVAL_MS: 60_000,
};

export const kafkaBrokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

export interface HarnessOptions {
  /** `redis://127.0.0.1:1` stands for Redis being down. */
  redisUrl?: string;
  config?: Partial<CampaignAppConfig>;
}

export interface Harness {
  client: CampaignClient;
  ledger: FakeLedger;
  db: Db;
  app: CampaignApp;
  redis: RedisClient;
  topics: CashbackTopics;
  /** A user with a POINTS account. */
  newUser(): { userId: string; pointsAccountId: string };
  /** Creates a campaign through the RPC: 10 % up to 100 points, all merchants, open now, unless overridden. */
  createCampaign(overrides?: Partial<RpcRequest<'CreateCampaign'>>): Promise<string>;
  /** A GrantCashback request for a fresh payment of `amount` yen by `user`, paid now. */
  grantRequest(
    user: { userId: string; pointsAccountId: string },
    amount: number,
    overrides?: Partial<RpcRequest<'GrantCashback'>>,
  ): RpcRequest<'GrantCashback'>;
  rows(sql: string, params?: ReadonlyArray<string | number>): Promise<Row[]>;
  /** Kafka, with this run's own topics (created on first use and deleted at close). */
  kafka(): Promise<Kafka>;
  /** Starts the consumer of this run's topics; `handlerDelayMs` slows each event down. */
  startConsumer(groupId?: string, options?: { handlerDelayMs?: number }): Promise<CashbackConsuming>;
  startOutbox(): OutboxPublishing;
  /** Publishes an envelope like payment's outbox relay would; answers the event id used. */
  publish<Kind extends 'cashbackDeferred' | 'paymentCompleted' | 'paymentRefunded'>(
    topic: string,
    kind: Kind,
    event: EnvelopeEvent<Kind>,
    options?: { key?: string; eventId?: string },
  ): Promise<string>;
  /** Every record on `topic` so far, read with a throwaway consumer group. */
  readTopic(topic: string, atLeast: number, timeoutMs?: number): Promise<TopicRecord[]>;
  close(): Promise<void>;
}

export interface TopicRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const logger = createLogger({
    service: 'campaign-promo',
    level: process.env['TEST_LOG_LEVEL'] ?? 'silent',
  });
  const [database, ledger] = await Promise.all([freshDatabase(), startFakeLedger()]);
  const redis = createRedis({
    url: options.redisUrl ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    logger,
    name: 'campaign-promo-test',
    connectTimeoutMs: 500,
  });
  await redis.connect().catch(() => undefined);
  const run = randomBytes(5).toString('hex');
  const topics: CashbackTopics = {
    cashback: `cashback.v1.test-${run}`,
    payments: `payments.v1.test-${run}`,
    cashbackDeadLetter: `cashback.v1.dlq.test-${run}`,
  };

  // Breakers that only trip when a test means them to: a test taking the ledger down must not
  // leave it open for the next one.
  const quietBreaker = { breaker: { consecutiveFailures: 1_000, minimumCalls: 1_000 } };
  const ledgerPolicy = createDependencyPolicy(
    presetOptions(dependencyPresets.campaignPromoToLedger, 'campaign-promo', quietBreaker),
    {
      logger,
    },
  );
  const redisPolicy = createDependencyPolicy(
    presetOptions(dependencyPresets.redis, 'campaign-promo', quietBreaker),
    { logger },
  );
  const kafkaPolicy = createDependencyPolicy(
    presetOptions(dependencyPresets.kafka, 'campaign-promo', quietBreaker),
    { logger },
  );
  const protos = loadProtos();
  const ledgerClient = createGrpcClient(protos.koban.ledger.v1.LedgerService, ledger.address, {
    timeoutMs: dependencyPresets.campaignPromoToLedger.timeoutMs,
    policy: ledgerPolicy,
  });
  const app = createCampaignApp({
    config: { ...testConfig, ...options.config },
    db: database.db,
    redis,
    redisPolicy,
    ledgerClient,
    topics,
    logger,
    redisKeyPrefix: `campaign-promo-test-${run}`,
  });
  const server = createGrpcServer({
    serviceName: 'campaign-promo',
    logger,
    domainErrorStatus: campaignErrorStatus,
    host: '127.0.0.1',
  });
  server.addService(protos.koban.campaign.v1.CampaignService.service, app.handlers);
  const port = await server.listen(0);
  const client = createGrpcClient(protos.koban.campaign.v1.CampaignService, `127.0.0.1:${port}`, {
    timeoutMs: 20_000,
  });
  const sql = poolSql(database.db);

  let kafka: Kafka | undefined;
  let producer: EventProducer | undefined;
  const consumers: CashbackConsuming[] = [];
  const outboxes: OutboxPublishing[] = [];

  async function kafkaClient(): Promise<Kafka> {
    if (kafka) return kafka;
    kafka = createKafka({ clientId: `campaign-promo-test-${run}`, brokers: kafkaBrokers, logger });
    await ensureTopics(kafka, [topics.cashback, topics.payments, topics.cashbackDeadLetter], {
      partitions: 2,
      replicationFactor: 1,
    });
    return kafka;
  }

  return {
    client,
    ledger,
    db: database.db,
    app,
    redis,
    topics,
    newUser() {
      const userId = `usr_${randomUUID()}`;
      return { userId, pointsAccountId: ledger.openPoints(userId) };
    },
    async createCampaign(overrides = {}) {
      const { campaign } = await client.createCampaign({
        name: 'Test campaign',
        cashbackBps: 1_000,
        maxPointsPerPayment: '100',
        budgetPoints: '1000000',
        startsAt: toTimestamp(Date.now() - 60_000),
        endsAt: toTimestamp(Date.now() + 3_600_000),
        merchantIds: [],
        ...overrides,
      });
      if (!campaign) throw new Error('CreateCampaign answered without a campaign');
      return campaign.campaignId;
    },
    grantRequest(user, amount, overrides = {}) {
      return {
        paymentId: `pay_${randomUUID()}`,
        userId: user.userId,
        pointsAccountId: user.pointsAccountId,
        merchantId: 'mch_any',
        amount: String(amount),
        currency: 'JPY',
        paidAt: toTimestamp(Date.now()),
        ...overrides,
      };
    },
    rows: (statement, params = []) => sql.rows(statement, params),
    kafka: kafkaClient,
    async startConsumer(groupId = `campaign-promo.test-${run}`, consumerOptions = {}) {
      const delayMs = consumerOptions.handlerDelayMs ?? 0;
      const consuming = startCashbackConsuming({
        kafka: await kafkaClient(),
        db: database.db,
        handler:
          delayMs > 0
            ? async (event, tx) => {
                await new Promise((resolve) => setTimeout(resolve, delayMs));
                await app.consumerHandler(event, tx);
              }
            : app.consumerHandler,
        groupId,
        topics,
        partitions: 2,
        replicationFactor: 1,
        logger,
        retry: { initialDelayMs: 50, maxDelayMs: 500 },
      });
      consumers.push(consuming);
      await consuming.ready;
      return consuming;
    },
    startOutbox() {
      if (!kafka) throw new Error('call kafka() first');
      const outbox = startOutboxPublishing({
        kafka,
        db: database.db,
        policy: kafkaPolicy,
        logger,
        topics: [topics.cashback, topics.cashbackDeadLetter],
        partitions: 2,
        replicationFactor: 1,
        relay: { pollIntervalMs: 50 },
      });
      outboxes.push(outbox);
      return outbox;
    },
    async publish(topic, kind, event, publishOptions = {}) {
      const client = await kafkaClient();
      if (!producer) {
        producer = createEventProducer(client, { logger });
        await producer.connect();
      }
      const eventId = publishOptions.eventId ?? randomUUID();
      const key = publishOptions.key ?? 'acc_test';
      const typeName = kind.charAt(0).toUpperCase() + kind.slice(1);
      await producer.publish({
        topic,
        key,
        value: encodeEnvelope(buildEnvelope(kind, event, { key, producer: 'payment', eventId })),
        eventId,
        headers: { [EVENT_TYPE_HEADER]: `koban.events.v1.${typeName}` },
      });
      return eventId;
    },
    async readTopic(topic, atLeast, timeoutMs = 20_000) {
      const consumer = (await kafkaClient()).consumer({
        groupId: `reader-${randomUUID()}`,
        maxWaitTimeInMs: 200,
      });
      const records: TopicRecord[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ partition, message }) => {
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(message.headers ?? {})) {
              if (value !== undefined)
                headers[name] = (Array.isArray(value) ? value[0] : value)?.toString() ?? '';
            }
            records.push({
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? null,
              value: message.value ?? Buffer.alloc(0),
              headers,
            });
            return Promise.resolve();
          },
        });
        const deadline = Date.now() + timeoutMs;
        while (records.length < atLeast && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        return [...records];
      } finally {
        await consumer.disconnect();
      }
    },
    async close() {
      // Every step runs whatever the previous ones did, and the schema is always dropped.
      const steps: Array<() => Promise<unknown>> = [
        () => app.worker.stop(),
        () => app.reconciler.stop(),
        () => Promise.all(consumers.map((consumer) => consumer.stop())),
        () => Promise.all(outboxes.map((outbox) => outbox.stop())),
        () => producer?.disconnect() ?? Promise.resolve(),
        async () => {
          if (!kafka) return;
          const admin = kafka.admin();
          await admin.connect();
          try {
            await admin.deleteTopics({
              topics: [topics.cashback, topics.payments, topics.cashbackDeadLetter],
            });
          } finally {
            await admin.disconnect();
          }
        },
        () => Promise.resolve(client.close()),
        () => server.shutdown(0),
        () => {
          ledgerClient.close();
          ledgerPolicy.dispose();
          redisPolicy.dispose();
          kafkaPolicy.dispose();
          return Promise.resolve();
        },
        () => redis.close(),
        () => ledger.close(),
      ];
      try {
        for (const step of steps)
          await Promise.resolve()
            .then(step)
            .catch(() => undefined);
      } finally {
        await database.drop();
      }
    },
  };
}

/** Polls `probe` until it answers a value, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
