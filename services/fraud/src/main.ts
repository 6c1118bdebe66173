// Composition root of the fraud service: config, stores, gRPC server, graceful shutdown.
import { fileURLToPath } from 'node:url';
import { listBreakers, parseConfigOrExit, shutdownOrder, startServiceRuntime } from '@koban/platform';
import { configSchema, fraudLimits } from './config.js';
import { createFraudServer } from './fraud-server.js';

const config = parseConfigOrExit('fraud', configSchema);
const { logger, shutdown, db, redis } = await startServiceRuntime<true>({
  service: 'fraud',
  config,
  database: {
    name: config.MYSQL_DATABASE,
    migrationsDir: fileURLToPath(new URL('../migrations/', import.meta.url)),
  },
});

const limits = fraudLimits(config);
const server = createFraudServer({ db, redis, logger, limits, listBreakers });
const port = await server.listen(config.GRPC_PORT);
shutdown.onShutdown(
  'grpc-server',
  () => server.shutdown(config.SHUTDOWN_GRACE_MS),
  shutdownOrder.stopAccepting,
);
logger.info({ port, limits }, 'fraud serving gRPC');
