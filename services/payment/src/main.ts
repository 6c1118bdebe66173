// Composition root of the payment service, in start-up order: config, runtime (logger, shutdown,
// schema and migrations, Redis), one resilience policy per downstream, the downstream clients,
// the features, the gRPC server, the sweeper, the outbox relay and the cashback-status consumer.
// Shutdown runs the other way round.
import { fileURLToPath } from 'node:url';
import {
  createDependencyPolicy,
  createGrpcClient,
  createKafka,
  createGrpcServer,
  dependencyPresets,
  listBreakers,
  loadProtos,
  parseConfigOrExit,
  presetOptions,
  shutdownOrder,
  startConsumerLagMonitor,
  startOutboxPublishing,
  startServiceRuntime,
  topics,
  type DependencyPreset,
  startFaultInjection,
} from '@koban/platform';
import { createPaymentApp } from './app.js';
import { startCashbackStatusConsumer } from './cashback/cashback-status-consumer.js';
import { configSchema } from './config.js';
import { paymentErrorStatus } from './grpc-api.js';

const config = parseConfigOrExit('payment', configSchema);
const { logger, shutdown, db, redis } = await startServiceRuntime<true>({
  service: 'payment',
  config,
  database: {
    name: config.MYSQL_DATABASE,
    migrationsDir: fileURLToPath(new URL('../migrations/', import.meta.url)),
  },
});

// One policy per downstream, shared by every call to it: a breaker must see all of them.
const policy = (preset: DependencyPreset, timeoutMs?: number) =>
  createDependencyPolicy(presetOptions(preset, 'payment', { timeoutMs }), { logger });
const ledgerPolicy = policy(dependencyPresets.paymentToLedger);
const fraudPolicy = policy(dependencyPresets.paymentToFraud);
const bankPolicy = policy(dependencyPresets.paymentToBankIntegration, config.BANK_INTEGRATION_TIMEOUT_MS);
const campaignPolicy = policy(dependencyPresets.paymentToCampaignPromo, config.CAMPAIGN_TIMEOUT_MS);
const redisPolicy = policy(dependencyPresets.redis);
const kafkaPolicy = policy(dependencyPresets.kafka);

const protos = loadProtos();
const ledgerClient = createGrpcClient(protos.koban.ledger.v1.LedgerService, config.LEDGER_ADDR, {
  timeoutMs: dependencyPresets.paymentToLedger.timeoutMs,
  policy: ledgerPolicy,
});
// No policy on the fraud client itself: the risk check wraps each call in the fraud policy's
// withFallback, so that a slow or failing fraud service answers the local rule instead.
const fraudClient = createGrpcClient(protos.koban.fraud.v1.FraudService, config.FRAUD_ADDR, {
  timeoutMs: dependencyPresets.paymentToFraud.timeoutMs,
});
const bankClient = createGrpcClient(
  protos.koban.bankintegration.v1.BankIntegrationService,
  config.BANK_INTEGRATION_ADDR,
  { timeoutMs: config.BANK_INTEGRATION_TIMEOUT_MS, policy: bankPolicy },
);
const campaignClient = createGrpcClient(protos.koban.campaign.v1.CampaignService, config.CAMPAIGN_ADDR, {
  timeoutMs: config.CAMPAIGN_TIMEOUT_MS,
  policy: campaignPolicy,
});
shutdown.onShutdown('grpc-clients', () => {
  for (const client of [ledgerClient, fraudClient, bankClient, campaignClient]) client.close();
});

const app = createPaymentApp({
  config,
  db,
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
  listBreakers,
  faultInjector: startFaultInjection({
    service: 'payment',
    enabled: config.FAULTS_ENABLED,
    redis,
    logger,
    shutdown,
  }),
});
server.addService(protos.koban.payment.v1.PaymentService.service, app.handlers);
const port = await server.listen(config.GRPC_PORT);
shutdown.onShutdown(
  'grpc-server',
  () => server.shutdown(config.SHUTDOWN_GRACE_MS),
  shutdownOrder.stopAccepting,
);

// Started once serving: it finishes what earlier processes left PENDING. It stops before the
// database and the clients it uses close.
if (config.SWEEPER_ENABLED) {
  app.sweeper.start();
  shutdown.onShutdown('sweeper', () => app.sweeper.stop(), shutdownOrder.drain);
}
// Publishes the outbox to Kafka; payments do not wait for it, and events wait while Kafka is down.
const kafka = createKafka({ clientId: 'payment', brokers: config.KAFKA_BROKERS, logger });
const outbox = startOutboxPublishing({
  kafka,
  db,
  policy: kafkaPolicy,
  logger,
  topics: [topics.payments, topics.cashback],
  partitions: config.KAFKA_TOPIC_PARTITIONS,
  replicationFactor: config.KAFKA_REPLICATION_FACTOR,
});
shutdown.onShutdown('outbox-publishing', () => outbox.stop(), shutdownOrder.drain);
// campaign-promo's late grants settle PENDING cashback; they wait in Kafka while it is away.
const cashbackStatus = startCashbackStatusConsumer({
  kafka,
  db,
  handler: app.cashbackStatusHandler,
  logger,
  partitions: config.KAFKA_TOPIC_PARTITIONS,
  replicationFactor: config.KAFKA_REPLICATION_FACTOR,
  retention: { maxAgeMs: config.PROCESSED_EVENTS_RETENTION_HOURS * 3_600_000 },
});
shutdown.onShutdown('cashback-status-consumer', () => cashbackStatus.stop(), shutdownOrder.drain);
// The lag of every consumer group of the topics payment publishes, reported here so that it
// keeps being reported while a consumer is down.
const lag = startConsumerLagMonitor({ kafka, topics: [topics.payments, topics.cashback], logger });
shutdown.onShutdown('consumer-lag-monitor', () => lag.stop(), shutdownOrder.drain);
logger.info({ port, sweeper: config.SWEEPER_ENABLED }, 'payment serving gRPC');
