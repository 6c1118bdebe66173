import { randomBytes } from 'node:crypto';
import type { Db } from '../db/db.js';
import { openDatabase } from '../db/open-database.js';
import { createLogger, type Logger } from '../logging/logger.js';
import type { DependencyPolicy } from '../resilience/dependency-policy.js';
import { testMysqlServer } from './local-infrastructure.js';

/** Settings for {@link createTestDatabase}. */
export interface TestDatabaseSettings {
  /** The service's `migrations/` directory, applied to the fresh schema. */
  migrationsDir: string;
  poolSize: number;
  /** Where the migrations log; silent by default. */
  logger?: Logger;
  /** The service's `<service>→tidb` policy, for tests that drive the database through it. */
  policy?: DependencyPolicy;
}

/** A fresh schema with a service's migrations applied. */
export interface TestDatabase {
  db: Db;
  /** The schema's name, `koban_test_<random>`. */
  name: string;
  /** Drops the schema and closes the pool. */
  drop(): Promise<void>;
}

/**
 * Creates a fresh `koban_test_<random>` schema on {@link testMysqlServer} and applies the
 * service's migrations to it, as the service does at start-up. Each test file gets its own, so
 * tests never see each other's rows.
 */
export async function createTestDatabase(settings: TestDatabaseSettings): Promise<TestDatabase> {
  const name = `koban_test_${randomBytes(6).toString('hex')}`;
  const db = await openDatabase({
    ...testMysqlServer,
    database: name,
    poolSize: settings.poolSize,
    migrationsDir: settings.migrationsDir,
    logger: settings.logger ?? createLogger({ service: 'test-database', level: 'silent' }),
    policy: settings.policy,
  });
  return {
    db,
    name,
    async drop() {
      try {
        // On the raw pool: a test may have left the database policy's breaker open.
        await db.pool.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await db.close();
      }
    },
  };
}
