import { createDatabasePolicy } from '../db/database-policy.js';
import type { Db } from '../db/db.js';
import { openDatabase } from '../db/open-database.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { createShutdown, shutdownOrder, type Shutdown } from '../lifecycle/shutdown.js';
import { connectRedis, createRedis, type RedisClient } from '../redis/redis.js';
import { shutdownTelemetry } from '../telemetry/telemetry.js';

/** The part of a service's config (the platform's `commonEnv`) the runtime needs. */
export interface RuntimeConfig {
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  MYSQL_HOST: string;
  MYSQL_PORT: number;
  MYSQL_USER: string;
  MYSQL_PASSWORD: string;
  MYSQL_POOL_SIZE: number;
  /** False when a separate runner migrates the schema first; absent means true. */
  MIGRATE_ON_START?: boolean;
  REDIS_URL: string;
  SHUTDOWN_GRACE_MS: number;
}

export interface ServiceRuntimeOptions<WithDatabase extends boolean> {
  service: string;
  config: RuntimeConfig;
  /** The service's own schema and its migrations directory, or false for a service without one. */
  database: WithDatabase extends true ? { name: string; migrationsDir?: string } : false;
  /** How long start-up waits for Redis to be ready before going on without it (default 3 s). */
  redisWaitMs?: number;
}

/** What every service starts with: a logger, graceful shutdown, its Redis and (maybe) its schema. */
export interface ServiceRuntime<WithDatabase extends boolean> {
  logger: Logger;
  shutdown: Shutdown;
  redis: RedisClient;
  db: WithDatabase extends true ? Db : undefined;
}

const defaultRedisWaitMs = 3_000;

/**
 * The start-up every service shares, in order: logger, signal handling, its database schema
 * (created and migrated, or with `MIGRATE_ON_START` false awaited from the migrations Job) and
 * Redis, awaited for a few seconds at most. Each resource is registered for closing on shutdown,
 * and telemetry is flushed last. The service's own servers and clients are wired in its main.ts.
 */
export async function startServiceRuntime<WithDatabase extends boolean>(
  options: ServiceRuntimeOptions<WithDatabase>,
): Promise<ServiceRuntime<WithDatabase>> {
  const { config, service } = options;
  const logger = createLogger({ service, level: config.LOG_LEVEL });
  const shutdown = createShutdown({ logger, graceMs: config.SHUTDOWN_GRACE_MS });
  shutdown.install();
  // Flushing spans and metrics is the very last step, after every client has closed.
  shutdown.onShutdown('telemetry', () => shutdownTelemetry(), shutdownOrder.closeClients + 100);

  let db: Db | undefined;
  if (options.database) {
    db = await openDatabase({
      host: config.MYSQL_HOST,
      port: config.MYSQL_PORT,
      user: config.MYSQL_USER,
      password: config.MYSQL_PASSWORD,
      poolSize: config.MYSQL_POOL_SIZE,
      database: options.database.name,
      migrationsDir: options.database.migrationsDir,
      migrate: config.MIGRATE_ON_START ?? true,
      logger,
      // One `<service>→tidb` breaker for every query and transaction of the service.
      policy: createDatabasePolicy(service, { logger }),
    });
    const openDb = db;
    shutdown.onShutdown('database', () => openDb.close());
  }

  const redis = createRedis({ url: config.REDIS_URL, logger });
  shutdown.onShutdown('redis', () => redis.close());
  // Redis is a fast path with durable fallbacks: a service starts without it and the client
  // keeps reconnecting in the background (its state changes are logged by the client). But the
  // service's first commands must not race the first connect: without an offline queue they
  // would fail at once and open its Redis breaker against a healthy Redis.
  const redisWaitMs = options.redisWaitMs ?? defaultRedisWaitMs;
  if (!(await connectRedis(redis, redisWaitMs))) {
    logger.warn({ waitedMs: redisWaitMs }, 'Redis not ready; starting without it (fallback paths)');
  }

  return { logger, shutdown, redis, db: db as ServiceRuntime<WithDatabase>['db'] };
}
