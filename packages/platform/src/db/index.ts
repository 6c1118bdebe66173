export { createDb } from './db.js';
export { createDatabasePolicy } from './database-policy.js';
export type { CommitInfo, Db, DbMetrics, DbSettings, RetryInfo, TransactionOptions } from './db.js';
export { ensureDatabase } from './ensure-database.js';
export type { EnsureDatabaseSettings } from './ensure-database.js';
export { awaitMigrations } from './await-migrations.js';
export type { AwaitMigrationsSettings } from './await-migrations.js';
export {
  MigrationError,
  migrationChecksum,
  pendingMigrations,
  runMigrations,
  splitSqlStatements,
} from './migrations.js';
export type { MigrationRunResult, RunMigrationsSettings } from './migrations.js';
export {
  findRetryableTransactionError,
  isRetryableTransactionError,
  retryableTransactionErrnos,
  transactionRetryDelayMs,
} from './transaction-retry.js';
export type { RetryBackoff } from './transaction-retry.js';
export { openDatabase } from './open-database.js';
export type { OpenDatabaseSettings } from './open-database.js';
export {
  DatabaseUnavailableError,
  isDatabaseUnavailableError,
  isDuplicateKeyError,
  poolSql,
  sqlColumn,
  txSql,
} from './sql-access.js';
export type { Row, Sql, SqlValue, Tx } from './sql-access.js';
