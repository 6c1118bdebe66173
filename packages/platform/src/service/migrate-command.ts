import { commonEnv } from '../config/config.js';
import { createDb } from '../db/db.js';
import { ensureDatabase } from '../db/ensure-database.js';
import { runMigrations, type MigrationRunResult } from '../db/migrations.js';
import { createLogger } from '../logging/logger.js';
import type { RuntimeConfig } from './service-runtime.js';

/**
 * The variables a migrate-only run reads, as in `commonEnv`: the log level and the database
 * connection. A service's `src/migrate.ts` adds its own `MYSQL_DATABASE`, so the run needs none
 * of the service's secrets or addresses.
 */
export const migrateEnv = {
  LOG_LEVEL: commonEnv.LOG_LEVEL,
  MYSQL_HOST: commonEnv.MYSQL_HOST,
  MYSQL_PORT: commonEnv.MYSQL_PORT,
  MYSQL_USER: commonEnv.MYSQL_USER,
  MYSQL_PASSWORD: commonEnv.MYSQL_PASSWORD,
} as const;

/** What {@link runMigrateCommand} needs: the service, its connection and its schema. */
export interface MigrateCommandOptions {
  service: string;
  config: Pick<RuntimeConfig, 'LOG_LEVEL' | 'MYSQL_HOST' | 'MYSQL_PORT' | 'MYSQL_USER' | 'MYSQL_PASSWORD'>;
  /** The service's schema and its `migrations/` directory. */
  database: { name: string; migrationsDir: string };
}

/**
 * The body of a service's migrate-only entry (`src/migrate.ts`), run by the Kubernetes migrations
 * Job and the compose one-shot before the services start with `MIGRATE_ON_START=false`: creates
 * the schema if missing, applies the pending migrations under the same lock as a start-up run,
 * logs what it applied (an empty list when the schema was current) and closes its connection so
 * the process exits. A failure is logged once and sets the exit code to 1; it resolves either way.
 */
export async function runMigrateCommand(
  options: MigrateCommandOptions,
): Promise<MigrationRunResult | undefined> {
  const { config, database, service } = options;
  // runMigrations logs each file under its own `component: migrations` child.
  const logger = createLogger({ service, level: config.LOG_LEVEL });
  const connection = {
    host: config.MYSQL_HOST,
    port: config.MYSQL_PORT,
    user: config.MYSQL_USER,
    password: config.MYSQL_PASSWORD,
    database: database.name,
  };
  const started = Date.now();
  try {
    await ensureDatabase(connection);
    // Migrations hold one connection (the user lock belongs to the session).
    const db = createDb({ ...connection, poolSize: 1, logger });
    try {
      const result = await runMigrations({ db, dir: database.migrationsDir, logger });
      logger.info(
        { database: database.name, applied: result.applied, durationMs: Date.now() - started },
        result.applied.length > 0 ? 'migrations applied' : 'schema already current',
      );
      return result;
    } finally {
      await db.close();
    }
  } catch (err) {
    logger.error({ err, database: database.name }, 'migrations failed');
    process.exitCode = 1;
    return undefined;
  }
}
