// Composition root of the campaign-promo service, in start-up order: config, runtime (logger,
// shutdown, schema and migrations, Redis), one resilience policy per downstream, the ledger
// client, the features, the Redis budget counters, the gRPC server, the retry worker, the Kafka
// consumer and the outbox relay. Shutdown runs the other way round.
import { fileURLToPath } from 'node:url';
import {
  createDependencyPolicy,
  createGrpcClient,
  createGrpcServer,
  createKafka,
  dependencyPresets,
  listBreakers,
  loadProtos,
  parseConfigOrExit,
  presetOptions,
  shutdownOrder,
  startOutboxPublishing,
  startServiceRuntime,
  startFaultInjection,
} from '@koban/platform';
import { createCampaignApp } from './app.js';
import { configSchema } from './config.js';
import { defaultTopics } from './events/cashback-events.js';
import { campaignErrorStatus } from './grpc-api.js';
import { startCashbackConsuming } from './retry-queue/cashback-consumer.js';

const config = parseConfigOrExit('campaign-promo', configSchema);
const { logger, shutdown, db, redis } = await startServiceRuntime<true>({
  service: 'campaign-promo',
  config,
  database: {
    name: config.MYSQL_DATABASE,
    migrationsDir: fileURLToPath(new URL('../migrations/', import.meta.url)),
  },
});

// One policy per downstream, shared by every call to it: a breaker must see all of them.
const ledgerPolicy = createDependencyPolicy(
  presetOptions(dependencyPresets.campaignPromoToLedger, 'campaign-promo', {
    timeoutMs: config.LEDGER_TIMEOUT_MS,
  }),
  { logger },
);
const redisPolicy = createDependencyPolicy(presetOptions(dependencyPresets.redis, 'campaign-promo'), {
  logger,
});
const kafkaPolicy = createDependencyPolicy(presetOptions(dependencyPresets.kafka, 'campaign-promo'), {
  logger,
});

const ledgerClient = createGrpcClient(loadProtos().koban.ledger.v1.LedgerService, config.LEDGER_ADDR, {
  timeoutMs: config.LEDGER_TIMEOUT_MS,
  policy: ledgerPolicy,
});
shutdown.onShutdown('grpc-clients', () => ledgerClient.close());

const app = createCampaignApp({
  config,
  db,
  redis,
  redisPolicy,
  ledgerClient,
  topics: defaultTopics,
  logger,
});

// The Redis budget counters start from TiDB, are recomputed periodically, and again whenever
// Redis comes back (grants made while it was away went through TiDB alone).
await app.reconciler
  .reconcileAll()
  .catch((err: unknown) => logger.warn({ err }, 'initial budget reconciliation failed'));
app.reconciler.start();
redis.on('ready', () => void app.reconciler.reconcileAll().catch(() => undefined));
shutdown.onShutdown('budget-reconciler', () => app.reconciler.stop(), shutdownOrder.drain);

const server = createGrpcServer({
  serviceName: 'campaign-promo',
  logger,
  domainErrorStatus: campaignErrorStatus,
  listBreakers,
  faultInjector: startFaultInjection({
    service: 'campaign-promo',
    enabled: config.FAULTS_ENABLED,
    redis,
    logger,
    shutdown,
  }),
});
server.addService(loadProtos().koban.campaign.v1.CampaignService.service, app.handlers);
const port = await server.listen(config.GRPC_PORT);
shutdown.onShutdown(
  'grpc-server',
  () => server.shutdown(config.SHUTDOWN_GRACE_MS),
  shutdownOrder.stopAccepting,
);

// The retry queue's worker, and the recovery of credits and clawbacks the ledger did not confirm.
app.worker.start();
shutdown.onShutdown('retry-worker', () => app.worker.stop(), shutdownOrder.drain);

const kafka = createKafka({ clientId: 'campaign-promo', brokers: config.KAFKA_BROKERS, logger });
const consuming = startCashbackConsuming({
  kafka,
  db,
  handler: app.consumerHandler,
  groupId: 'campaign-promo.cashback-retry',
  topics: defaultTopics,
  partitions: config.KAFKA_TOPIC_PARTITIONS,
  replicationFactor: config.KAFKA_REPLICATION_FACTOR,
  retention: { maxAgeMs: config.PROCESSED_EVENTS_RETENTION_HOURS * 3_600_000 },
  logger,
});
shutdown.onShutdown('cashback-consumer', () => consuming.stop(), shutdownOrder.drain);

// CashbackGranted, CashbackClawedBack and dead letters; events wait in the outbox while Kafka is down.
const outbox = startOutboxPublishing({
  kafka,
  db,
  policy: kafkaPolicy,
  logger,
  topics: [defaultTopics.cashback, defaultTopics.cashbackDeadLetter],
  partitions: config.KAFKA_TOPIC_PARTITIONS,
  replicationFactor: config.KAFKA_REPLICATION_FACTOR,
});
shutdown.onShutdown('outbox-publishing', () => outbox.stop(), shutdownOrder.drain);
logger.info({ port }, 'campaign-promo serving gRPC');
