// Composition root of the fraud service, in start-up order: config, runtime (logger, shutdown,
// schema and migrations, Redis), the Redis policy, the gRPC server, the features consumer. Shutdown runs the other
// way round.
import { fileURLToPath } from 'node:url';
import {
  createDependencyPolicy,
  createKafka,
  dependencyPresets,
  listBreakers,
  parseConfigOrExit,
  presetOptions,
  shutdownOrder,
  startServiceRuntime,
  topics,
  startFaultInjection,
} from '@koban/platform';
import { configSchema, fraudLimits, lockoutPolicy } from './config.js';
import { createFraudServer } from './fraud-server.js';
import { startProfileConsumer } from './profile/profile-consumer.js';
import { createSpendWindow } from './profile/spend-window.js';
import { createDecisionStore } from './scoring/decision-store.js';
import { SPEND_WINDOW_MS } from './scoring/fraud-rules.js';

const config = parseConfigOrExit('fraud', configSchema);
const { logger, shutdown, db, redis } = await startServiceRuntime<true>({
  service: 'fraud',
  config,
  database: {
    name: config.MYSQL_DATABASE,
    migrationsDir: fileURLToPath(new URL('../migrations/', import.meta.url)),
  },
});

// One policy for every Redis command (scoring, lockouts and the features consumer alike): the
// breaker must see all of them. Its fallback is each module's: the database, or no velocity rule.
const redisPolicy = createDependencyPolicy(presetOptions(dependencyPresets.redis, 'fraud'), { logger });
const limits = fraudLimits(config);
const policy = lockoutPolicy(config);
const faultInjector = startFaultInjection({
  service: 'fraud',
  enabled: config.FAULTS_ENABLED,
  redis,
  logger,
  shutdown,
});
const server = createFraudServer({
  db,
  redis,
  redisPolicy,
  logger,
  limits,
  policy,
  listBreakers,
  faultInjector,
});
const port = await server.listen(config.GRPC_PORT);
shutdown.onShutdown(
  'grpc-server',
  () => server.shutdown(config.SHUTDOWN_GRACE_MS),
  shutdownOrder.stopAccepting,
);

// Features from completed payments; scoring answers on the features it has while Kafka is away.
const consumer = startProfileConsumer({
  kafka: createKafka({ clientId: 'fraud', brokers: config.KAFKA_BROKERS, logger }),
  db,
  decisions: createDecisionStore(db),
  spend: createSpendWindow({ redis, policy: redisPolicy, logger, windowMs: SPEND_WINDOW_MS }),
  logger,
  alpha: config.FRAUD_PROFILE_ALPHA,
  retention: { maxAgeMs: config.PROCESSED_EVENTS_RETENTION_HOURS * 3_600_000 },
  topic: topics.payments,
  partitions: config.KAFKA_TOPIC_PARTITIONS,
  replicationFactor: config.KAFKA_REPLICATION_FACTOR,
});
shutdown.onShutdown('features-consumer', () => consumer.stop(), shutdownOrder.drain);
logger.info({ port, limits, lockout: policy }, 'fraud serving gRPC');
