import type { Logger } from 'pino';
import type { DependencyPolicy } from '../resilience/dependency-policy.js';
import { awaitMigrations } from './await-migrations.js';
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
  /**
   * Whether this process creates the schema and applies the migrations (default true). False
   * when a separate runner does it first (the Kubernetes Job, the compose one-shot): the service
   * then needs no DDL privilege and waits until the schema is current (see `awaitMigrations`).
   */
  migrate?: boolean | undefined;
  /** With `migrate: false`, how long to wait for the schema to be current (default 120 s). */
  migrationsTimeoutMs?: number | undefined;
  metrics?: DbMetrics;
  /** The service's `<service>→tidb` policy, for the pool's queries and transactions (see `createDb`). */
  policy?: DependencyPolicy | undefined;
}

/**
 * A service's start-up path to its own schema: create it if missing, open the pool, apply the
 * pending migrations (serialised across replicas), or with `migrate: false` wait for another
 * runner to have applied them. Resolves with the ready pool.
 */
export async function openDatabase(settings: OpenDatabaseSettings): Promise<Db> {
  const { migrationsDir, logger, migrate = true, migrationsTimeoutMs, ...connection } = settings;
  if (migrate) await ensureDatabase(connection);
  const db = createDb({ ...connection, logger });
  try {
    if (migrationsDir !== undefined) {
      if (migrate) {
        await runMigrations({ db, dir: migrationsDir, logger: logger.child({ component: 'migrations' }) });
      } else {
        await awaitMigrations({
          db,
          dir: migrationsDir,
          logger,
          ...(migrationsTimeoutMs !== undefined ? { timeoutMs: migrationsTimeoutMs } : {}),
        });
      }
    }
    return db;
  } catch (error) {
    await db.close();
    throw error;
  }
}
