// Composition root of the payment service: config, stores, gRPC server, graceful shutdown.
import {
  createGrpcServer,
  listBreakers,
  parseConfigOrExit,
  shutdownOrder,
  startServiceRuntime,
} from '@koban/platform';
import { configSchema } from './config.js';

const config = parseConfigOrExit('payment', configSchema);
const { logger, shutdown } = await startServiceRuntime({
  service: 'payment',
  config,
  database: {
    name: config.MYSQL_DATABASE,
  },
});

const server = createGrpcServer({
  serviceName: 'payment',
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
logger.info({ port }, 'payment serving gRPC');
