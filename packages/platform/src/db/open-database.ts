import type { Logger } from 'pino';
import { createDb, type Db, type DbMetrics } from './db.js';
import { ensureDatabase } from './ensure-database.js';
import { runMigrations } from './migrations.js';

/** Settings for {@link openDatabase}: where the service's schema lives and its migrations. */
export interface OpenDatabaseSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  poolSize: number;
  logger: Logger;
  /** The service's `migrations/` directory; omitted for a service without tables yet. */
  migrationsDir?: string | undefined;
  metrics?: DbMetrics;
}

/**
 * A service's start-up path to its own schema: create it if missing, open the pool, apply the
 * pending migrations (serialised across replicas). Resolves with the ready pool.
 */
export async function openDatabase(settings: OpenDatabaseSettings): Promise<Db> {
  const { migrationsDir, logger, ...connection } = settings;
  await ensureDatabase(connection);
  const db = createDb({ ...connection, logger });
  try {
    if (migrationsDir !== undefined) {
      await runMigrations({ db, dir: migrationsDir, logger: logger.child({ component: 'migrations' }) });
    }
    return db;
  } catch (error) {
    await db.close();
    throw error;
  }
}
