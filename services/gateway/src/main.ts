// Composition root of the gateway: config, Redis, clients of payment and ledger, the HTTP API.
import { createHealthProbe, parseConfigOrExit, shutdownOrder, startServiceRuntime } from '@koban/platform';
import { configSchema } from './config.js';
import { buildHttpApp } from './http/app.js';

const config = parseConfigOrExit('gateway', configSchema);
const { logger, shutdown } = await startServiceRuntime({ service: 'gateway', config, database: false });

const paymentHealth = createHealthProbe(config.PAYMENT_ADDR);
const ledgerHealth = createHealthProbe(config.LEDGER_ADDR);
shutdown.onShutdown('health-probes', () => {
  paymentHealth.close();
  ledgerHealth.close();
});

const app = buildHttpApp({
  logger,
  // Redis is left out on purpose: it has fallbacks, and failing readiness on it would take
  // every replica out of service at once.
  readinessChecks: {
    payment: () => paymentHealth.check(),
    ledger: () => ledgerHealth.check(),
  },
});
await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
shutdown.onShutdown('http-server', () => app.close(), shutdownOrder.stopAccepting);
logger.info({ port: config.HTTP_PORT }, 'gateway serving HTTP');
