// Composition root of the ledger service: config, stores, services, gRPC server, graceful shutdown.
import { fileURLToPath } from 'node:url';
import {
  createDependencyPolicy,
  createGrpcServer,
  dependencyPresets,
  listBreakers,
  loadProtos,
  parseConfigOrExit,
  presetOptions,
  shutdownOrder,
  startServiceRuntime,
  startFaultInjection,
} from '@koban/platform';
import { createAccountService } from './accounts/account-service.js';
import { createAccountStore } from './accounts/account-store.js';
import { createBalanceCache } from './balance/balance-cache.js';
import { configSchema } from './config.js';
import { createLedgerHandlers, ledgerErrorStatus } from './ledger-grpc.js';
import { createTransferService } from './transfers/transfer-service.js';
import { createTransferStore } from './transfers/transfer-store.js';

const config = parseConfigOrExit('ledger', configSchema);
const { logger, shutdown, db, redis } = await startServiceRuntime<true>({
  service: 'ledger',
  config,
  database: {
    name: config.MYSQL_DATABASE,
    migrationsDir: fileURLToPath(new URL('../migrations/', import.meta.url)),
  },
});

// One policy for every Redis command: the breaker must see all of them.
const redisPolicy = createDependencyPolicy(presetOptions(dependencyPresets.redis, 'ledger'), { logger });
const balanceCache = createBalanceCache({
  redis,
  policy: redisPolicy,
  logger,
  ttlSeconds: config.BALANCE_CACHE_TTL_SECONDS,
});
const accountStore = createAccountStore(db);
const accounts = createAccountService({ store: accountStore, balanceCache, logger });
const transfers = createTransferService({
  store: createTransferStore(db),
  accounts: accountStore,
  balanceCache,
  logger,
});

const server = createGrpcServer({
  serviceName: 'ledger',
  logger,
  domainErrorStatus: ledgerErrorStatus,
  listBreakers,
  faultInjector: startFaultInjection({
    service: 'ledger',
    enabled: config.FAULTS_ENABLED,
    redis,
    logger,
    shutdown,
  }),
});
server.addService(
  loadProtos().koban.ledger.v1.LedgerService.service,
  createLedgerHandlers({ accounts, transfers }),
);
// Before serving: LookupAccount of a settlement account must find it from the first call.
const systemAccounts = await accounts.openSystemAccounts();
logger.info(
  { accounts: systemAccounts.map(({ accountId, ownerId }) => ({ accountId, ownerId })) },
  'system settlement accounts ready',
);

const port = await server.listen(config.GRPC_PORT);
shutdown.onShutdown(
  'grpc-server',
  () => server.shutdown(config.SHUTDOWN_GRACE_MS),
  shutdownOrder.stopAccepting,
);
logger.info({ port }, 'ledger serving gRPC');
