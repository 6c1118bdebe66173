// Migrate-only entry of bank-integration: creates its schema, applies its migrations and exits. The
// Kubernetes migrations Job and the compose one-shot run it before the services, which then
// start with MIGRATE_ON_START=false (deploy/k8s/README.md). Locally: pnpm --filter @koban/bank-integration migrate.
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { migrateEnv, parseConfigOrExit, runMigrateCommand } from '@koban/platform';
import { configSchema } from './config.js';

// Only the connection and the schema: the run needs none of the service's secrets or addresses.
const config = parseConfigOrExit(
  'bank-integration',
  z.object({ ...migrateEnv, MYSQL_DATABASE: configSchema.shape.MYSQL_DATABASE }),
);
await runMigrateCommand({
  service: 'bank-integration',
  config,
  database: {
    name: config.MYSQL_DATABASE,
    migrationsDir: fileURLToPath(new URL('../migrations/', import.meta.url)),
  },
});
