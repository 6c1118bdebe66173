// Composition root of the bank-integration service: config, stores, gRPC server, graceful shutdown.
import {
  createGrpcServer,
  listBreakers,
  parseConfigOrExit,
  shutdownOrder,
  startServiceRuntime,
} from '@koban/platform';
import { configSchema } from './config.js';

const config = parseConfigOrExit('bank-integration', configSchema);
const { logger, shutdown } = await startServiceRuntime({
  service: 'bank-integration',
  config,
  database: {
    name: config.MYSQL_DATABASE,
  },
});

const server = createGrpcServer({
  serviceName: 'bank-integration',
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
logger.info({ port }, 'bank-integration serving gRPC');
