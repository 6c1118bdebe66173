// Composition root of the bank-integration service, in start-up order: config, runtime (logger,
// shutdown, schema and migrations), one resilience policy per counterparty (fraud, the banks,
// the issuer), the fraud client, the features, the gRPC server. Shutdown runs the other way round.
import { fileURLToPath } from 'node:url';
import {
  createDependencyPolicy,
  dependencyPresets,
  presetOptions,
  type DependencyPreset,
  createGrpcClient,
  createGrpcServer,
  listBreakers,
  loadProtos,
  parseConfigOrExit,
  shutdownOrder,
  startServiceRuntime,
  startFaultInjection,
} from '@koban/platform';
import { createBankIntegrationApp } from './bank-app.js';
import { activeVaultKeyId, configSchema } from './config.js';
import { bankErrorStatus } from './grpc-api.js';

const SERVICE = 'bank-integration';
const config = parseConfigOrExit(SERVICE, configSchema);
const { logger, shutdown, db, redis } = await startServiceRuntime<true>({
  service: SERVICE,
  config,
  database: {
    name: config.MYSQL_DATABASE,
    migrationsDir: fileURLToPath(new URL('../migrations/', import.meta.url)),
  },
});

// One policy per counterparty, shared by every call to it: a breaker must see all of them. No
// inline retries: lockout reads fail closed at once, and a charge without an answer is PENDING
// and asked about again with its key.
const policy = (preset: DependencyPreset, timeoutMs: number) =>
  createDependencyPolicy(presetOptions(preset, SERVICE, { timeoutMs }), { logger });
const fraudPolicy = policy(dependencyPresets.bankIntegrationToFraud, config.FRAUD_TIMEOUT_MS);
const bankPolicy = policy(dependencyPresets.bankIntegrationToBank, config.BANK_TIMEOUT_MS);
const issuerPolicy = policy(dependencyPresets.bankIntegrationToIssuer, config.ISSUER_TIMEOUT_MS);

const protos = loadProtos();
const fraudClient = createGrpcClient(protos.koban.fraud.v1.FraudService, config.FRAUD_ADDR, {
  timeoutMs: config.FRAUD_TIMEOUT_MS,
  policy: fraudPolicy,
});
shutdown.onShutdown('grpc-clients', () => fraudClient.close());

const handlers = createBankIntegrationApp({ config, db, fraudClient, bankPolicy, issuerPolicy, logger });

const server = createGrpcServer({
  serviceName: SERVICE,
  logger,
  domainErrorStatus: bankErrorStatus,
  listBreakers,
  faultInjector: startFaultInjection({
    service: SERVICE,
    enabled: config.FAULTS_ENABLED,
    redis,
    logger,
    shutdown,
  }),
});
server.addService(protos.koban.bankintegration.v1.BankIntegrationService.service, handlers);
const port = await server.listen(config.GRPC_PORT);
shutdown.onShutdown(
  'grpc-server',
  () => server.shutdown(config.SHUTDOWN_GRACE_MS),
  shutdownOrder.stopAccepting,
);
logger.info(
  {
    port,
    vaultKey: activeVaultKeyId(config),
    bankSim: { latencyMs: config.BANK_SIM_LATENCY_MS, failureRate: config.BANK_SIM_FAILURE_RATE },
    issuerSim: { latencyMs: config.ISSUER_SIM_LATENCY_MS, failureRate: config.ISSUER_SIM_FAILURE_RATE },
  },
  'bank-integration serving gRPC',
);
