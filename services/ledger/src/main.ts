// Composition root of the ledger service: config, stores, gRPC server, graceful shutdown.
import { fileURLToPath } from 'node:url';
import {
  createGrpcServer,
  listBreakers,
  parseConfigOrExit,
  shutdownOrder,
  startServiceRuntime,
} from '@koban/platform';
import { configSchema } from './config.js';

const config = parseConfigOrExit('ledger', configSchema);
const { logger, shutdown } = await startServiceRuntime({
  service: 'ledger',
  config,
  database: {
    name: config.MYSQL_DATABASE,
    migrationsDir: fileURLToPath(new URL('../migrations/', import.meta.url)),
  },
});

const server = createGrpcServer({
  serviceName: 'ledger',
  logger,
  domainErrorStatus: {},
  listBreakers,
});
const port = await server.listen(config.GRPC_PORT);
shutdown.onShutdown(
  'grpc-server',
  () => server.shutdown(config.SHUTDOWN_GRACE_MS),
  shutdownOrder.stopAccepting,
);
logger.info({ port }, 'ledger serving gRPC');
