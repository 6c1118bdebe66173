// Composition root of the gateway: config, its schema and Redis, one resilience policy per
// downstream, the clients of payment, ledger, bank-integration and campaign-promo, PartyService
// over gRPC, the HTTP API.
import { fileURLToPath } from 'node:url';
import {
  createDependencyPolicy,
  createFaultStore,
  createGrpcServer,
  createHealthProbe,
  dependencyPresets,
  listBreakers,
  loadProtos,
  parseConfigOrExit,
  presetOptions,
  shutdownOrder,
  startFaultInjection,
  startServiceRuntime,
} from '@koban/platform';
import { createBreakerCollector } from './admin/breaker-collector.js';
import { configSchema } from './config.js';
import {
  createBankIntegrationClient,
  createCampaignClient,
  createLedgerClient,
  createPaymentClient,
} from './downstream-clients.js';
import { buildGatewayApp } from './gateway-app.js';
import { partyErrorStatus, partyGrpcHandlers } from './parties/party-grpc.js';

const config = parseConfigOrExit('gateway', configSchema);
const { logger, shutdown, redis, db } = await startServiceRuntime<true>({
  service: 'gateway',
  config,
  database: {
    name: config.MYSQL_DATABASE,
    migrationsDir: fileURLToPath(new URL('../migrations/', import.meta.url)),
  },
});

// One policy per downstream, shared by every call to it: a breaker must see them all.
const paymentPolicy = createDependencyPolicy(
  presetOptions(dependencyPresets.gatewayToPayment, 'gateway', { timeoutMs: config.PAYMENT_TIMEOUT_MS }),
  { logger },
);
const ledgerPolicy = createDependencyPolicy(
  presetOptions(dependencyPresets.gatewayToLedger, 'gateway', { timeoutMs: config.LEDGER_TIMEOUT_MS }),
  { logger },
);
const ledgerAccountsPolicy = createDependencyPolicy(
  presetOptions(dependencyPresets.gatewayToLedgerAccounts, 'gateway'),
  { logger },
);
const bankIntegrationPolicy = createDependencyPolicy(
  presetOptions(dependencyPresets.gatewayToBankIntegration, 'gateway', {
    timeoutMs: config.BANK_INTEGRATION_TIMEOUT_MS,
  }),
  { logger },
);
const campaignPolicy = createDependencyPolicy(
  presetOptions(dependencyPresets.gatewayToCampaignPromo, 'gateway', {
    timeoutMs: config.CAMPAIGN_TIMEOUT_MS,
  }),
  { logger },
);
const redisPolicy = createDependencyPolicy(presetOptions(dependencyPresets.redis, 'gateway'), { logger });

const payment = createPaymentClient(config.PAYMENT_ADDR, paymentPolicy, config.PAYMENT_TIMEOUT_MS);
const ledger = createLedgerClient(config.LEDGER_ADDR, ledgerPolicy, config.LEDGER_TIMEOUT_MS);
const ledgerAccounts = createLedgerClient(
  config.LEDGER_ADDR,
  ledgerAccountsPolicy,
  dependencyPresets.gatewayToLedgerAccounts.timeoutMs,
);
const bankIntegration = createBankIntegrationClient(
  config.BANK_INTEGRATION_ADDR,
  bankIntegrationPolicy,
  config.BANK_INTEGRATION_TIMEOUT_MS,
);
const campaigns = createCampaignClient(config.CAMPAIGN_ADDR, campaignPolicy, config.CAMPAIGN_TIMEOUT_MS);
const paymentHealth = createHealthProbe(config.PAYMENT_ADDR);
const ledgerHealth = createHealthProbe(config.LEDGER_ADDR);
shutdown.onShutdown('grpc-clients', () => {
  for (const client of [
    payment,
    ledger,
    ledgerAccounts,
    bankIntegration,
    campaigns,
    paymentHealth,
    ledgerHealth,
  ]) {
    client.close();
  }
});

// Fault injection and breaker inspection (API.md "Operations"), only when FAULTS_ENABLED.
const breakers = config.FAULTS_ENABLED
  ? createBreakerCollector({
      logger,
      local: listBreakers,
      services: {
        payment: config.PAYMENT_ADDR,
        ledger: config.LEDGER_ADDR,
        'bank-integration': config.BANK_INTEGRATION_ADDR,
        fraud: config.FRAUD_ADDR,
        'campaign-promo': config.CAMPAIGN_ADDR,
      },
    })
  : undefined;
if (breakers) shutdown.onShutdown('ops-clients', () => breakers.close());

const { app, parties } = buildGatewayApp({
  logger,
  db,
  redis,
  redisPolicy,
  payment,
  ledger,
  ledgerAccounts,
  bankIntegration,
  campaigns,
  settings: {
    adminToken: config.ADMIN_TOKEN,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    maxInFlightRequests: config.MAX_IN_FLIGHT_REQUESTS,
    tokenCacheTtlSeconds: config.TOKEN_CACHE_TTL_SECONDS,
    balanceCacheTtlSeconds: config.BALANCE_CACHE_TTL_SECONDS,
    rateLimit: { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST },
    trustedProxies: config.TRUSTED_PROXIES,
  },
  // Only what the core paths need. Redis has fallbacks, and failing readiness on it would take
  // every replica out of service at once; bank-integration and campaign-promo serve funding and
  // campaign admin only, so wallet and QR payments keep being served while they are down.
  readinessChecks: {
    payment: () => paymentHealth.check(),
    ledger: () => ledgerHealth.check(),
  },
  admin: breakers && { faults: createFaultStore(redis), breakers },
});

const grpcServer = createGrpcServer({
  serviceName: 'gateway',
  logger,
  domainErrorStatus: partyErrorStatus,
  listBreakers,
  faultInjector: startFaultInjection({
    service: 'gateway',
    enabled: config.FAULTS_ENABLED,
    redis,
    logger,
    shutdown,
  }),
});
grpcServer.addService(loadProtos().koban.gateway.v1.PartyService.service, partyGrpcHandlers(parties));
const grpcPort = await grpcServer.listen(config.GRPC_PORT);
shutdown.onShutdown(
  'grpc-server',
  () => grpcServer.shutdown(config.SHUTDOWN_GRACE_MS),
  shutdownOrder.stopAccepting,
);

await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
shutdown.onShutdown('http-server', () => app.close(), shutdownOrder.stopAccepting);
logger.info({ httpPort: config.HTTP_PORT, grpcPort }, 'gateway serving HTTP and PartyService');
