import { setTimeout as sleep } from 'node:timers/promises';
import { metrics as otelMetrics, type Meter } from '@opentelemetry/api';
import {
  createPool,
  type Pool,
  type PoolConnection,
  type QueryResult,
  type QueryValues,
  type RowDataPacket,
} from 'mysql2/promise';
import type { Logger } from 'pino';
import { failureKind, type DependencyPolicy } from '../resilience/dependency-policy.js';
import { dbWriteMetrics } from './db-metrics.js';
import { DatabaseUnavailableError } from './sql-access.js';
import { findRetryableTransactionError, transactionRetryDelayMs } from './transaction-retry.js';

/** What a committed transaction reports to the metrics hook. */
export interface CommitInfo {
  /** Sum of `affectedRows` over the statements run through the transaction's connection. */
  rowsAffected: number;
  /** 1 when the first attempt committed; more after write-conflict or deadlock retries. */
  attempts: number;
}

/** What a retried transaction reports to the metrics hook. */
export interface RetryInfo {
  /** Server error number, e.g. 1213 (deadlock) or 9007 (TiDB write conflict). */
  errno: number;
  /** Driver error code, e.g. `ER_LOCK_DEADLOCK`. */
  code: string | undefined;
  /** The attempt that failed (1-based). */
  attempt: number;
}

/**
 * Optional hooks on commits and retries, besides the OpenTelemetry counters the pool always
 * records (see {@link DbSettings.meter}). Called synchronously; a hook that throws is logged and
 * ignored, since the transaction has already committed by then.
 */
export interface DbMetrics {
  onCommit?: (info: CommitInfo) => void;
  onRetry?: (info: RetryInfo) => void;
}

/** Settings for {@link createDb}. */
export interface DbSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The service's own schema, e.g. `koban_ledger`. */
  database: string;
  /** Maximum open connections. */
  poolSize: number;
  logger: Logger;
  metrics?: DbMetrics;
  /**
   * Where the write-throughput counters go (`koban.db.transactions.committed`,
   * `koban.db.rows.written`, `koban.db.transaction.retries`, attribute `db.namespace`);
   * `metrics.getMeter('koban-db')` by default.
   */
  meter?: Meter;
  /**
   * The service's `<service>→tidb` policy (`createDatabasePolicy`, one per process): every `query`
   * and every `transaction` (all its conflict retries together) is one call through it. While its
   * breaker is open they reject at once with a `DatabaseUnavailableError`, as they do when a call
   * outlasts its timeout; a transaction cut short by the timeout has its connection destroyed,
   * never returned to the pool. None by default (tools and tests call the database directly).
   */
  policy?: DependencyPolicy | undefined;
}

/** Per-call settings for {@link Db.transaction}. */
export interface TransactionOptions {
  /** Total attempts including the first (default 5). */
  maxAttempts?: number;
  /** Upper bound of the first retry delay in ms, doubled per attempt (default 20). */
  baseDelayMs?: number;
  /** Cap on one retry delay in ms (default 1000). */
  maxDelayMs?: number;
  /** Names the transaction in retry logs, e.g. `ledger.transfer`. */
  label?: string;
}

/** A service's connection pool with TiDB-aware transactions. */
export interface Db {
  /**
   * The underlying mysql2 pool, for what the helpers below do not cover. Calls made on it
   * directly bypass the policy and the write counters.
   */
  readonly pool: Pool;
  /**
   * Runs one statement outside any explicit transaction and returns its result: rows for a
   * `SELECT` (`RowDataPacket[]` by default), a `ResultSetHeader` for writes. Placeholders are `?`.
   */
  query<T extends QueryResult = RowDataPacket[]>(sql: string, params?: QueryValues): Promise<T>;
  /**
   * Runs `fn` inside BEGIN/COMMIT on one connection and returns its result. On a write conflict or
   * deadlock (see `isRetryableTransactionError`) the transaction is rolled back and the WHOLE of
   * `fn` runs again after a jittered backoff, up to `maxAttempts`; so `fn` must be safe to run
   * more than once (no side effects outside the connection). Any other error rolls back and is
   * rethrown unchanged. `fn` must not commit, roll back or release the connection itself.
   */
  transaction<T>(fn: (conn: PoolConnection) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Closes every connection once in-flight queries finish. */
  close(): Promise<void>;
}

const defaultMaxAttempts = 5;
const defaultBaseDelayMs = 20;
const defaultMaxDelayMs = 1000;

/**
 * Creates the service's pool. BIGINT and DECIMAL columns (money, ids) come back as decimal
 * strings, never as JS numbers, so no value above 2^53 loses precision: convert with `BigInt(x)`.
 * DATETIME/TIMESTAMP come back as `Date`, and both the driver and the session use UTC.
 */
export function createDb(settings: DbSettings): Db {
  const logger = settings.logger.child({ component: 'db', database: settings.database });
  const pool = createPool({
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password,
    database: settings.database,
    connectionLimit: settings.poolSize,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: false,
    timezone: 'Z',
    enableKeepAlive: true,
  });

  // The driver's `timezone: 'Z'` only governs how it converts Date values; NOW() and TIMESTAMP
  // columns follow the session time zone, which must agree or stored times shift by the offset.
  // Commands on a connection run in order, so this precedes the first query of its user.
  pool.pool.on('connection', (connection) => {
    connection.query("SET time_zone = '+00:00'", (err) => {
      if (err) logger.error({ err }, 'could not set the session time zone to UTC');
    });
  });

  const metrics = settings.metrics;
  const writes = dbWriteMetrics(settings.meter ?? otelMetrics.getMeter('koban-db'), settings.database);

  function report(hook: 'onCommit' | 'onRetry', call: () => void): void {
    if (!metrics?.[hook]) return;
    try {
      call();
    } catch (err) {
      logger.warn({ err, hook }, 'db metrics hook threw');
    }
  }

  const policy = settings.policy;

  /**
   * Runs `call` through the policy when there is one. The policy's own refusals (breaker open)
   * and its timeout become a DatabaseUnavailableError; whatever `call` itself threw is rethrown
   * as it is, even an error of another policy (a call made inside a transaction).
   */
  async function guarded<T>(call: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    if (policy === undefined) return call(undefined);
    let thrown: { error: unknown } | undefined;
    try {
      return await policy.execute(
        async ({ signal }) => {
          try {
            return await call(signal);
          } catch (error) {
            thrown = { error };
            throw error;
          }
        },
        // Never repeated by the policy: a transaction retries its own conflicts.
        { idempotent: false },
      );
    } catch (error) {
      if (thrown !== undefined && thrown.error === error) throw error;
      const kind = failureKind(error);
      if (kind === 'open') throw new DatabaseUnavailableError('DB_BREAKER_OPEN', { cause: error });
      if (kind === 'timeout') throw new DatabaseUnavailableError('DB_TIMEOUT', { cause: error });
      throw error;
    }
  }

  async function query<T extends QueryResult = RowDataPacket[]>(
    sql: string,
    params?: QueryValues,
  ): Promise<T> {
    // An autocommit statement cut short by the timeout finishes on its own and its connection
    // goes back to the pool clean: only the caller stops waiting.
    const [result] = await guarded(() => pool.query<T>(sql, params));
    // Outside a transaction each statement commits on its own: a write counts as one.
    const rows = affectedRowsOf(result);
    if (rows !== undefined) writes.autocommitWrite(rows);
    return result;
  }

  function transaction<T>(
    fn: (conn: PoolConnection) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    return guarded((signal) => runTransaction(fn, options, signal));
  }

  /** The attempts of one transaction; `signal` aborts when the policy gives the call up. */
  async function runTransaction<T>(
    fn: (conn: PoolConnection) => Promise<T>,
    options: TransactionOptions,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const maxAttempts = Math.max(1, options.maxAttempts ?? defaultMaxAttempts);
    const backoff = {
      baseDelayMs: options.baseDelayMs ?? defaultBaseDelayMs,
      maxDelayMs: options.maxDelayMs ?? defaultMaxDelayMs,
    };

    for (let attempt = 1; ; attempt += 1) {
      const conn = await pool.getConnection();
      if (signal?.aborted) {
        // Given up while waiting for a connection: it is clean, back it goes.
        conn.release();
        throw new Error('transaction given up before it began', { cause: signal.reason });
      }
      const counter = { rowsAffected: 0 };
      let reusable = true;
      let destroyed = false;
      // Given up mid-transaction: the connection is in an unknown state (a statement or the
      // commit in flight), so it is destroyed, which makes the server roll the transaction back.
      const abandon = (): void => {
        reusable = false;
        destroyed = true;
        conn.destroy();
      };
      signal?.addEventListener('abort', abandon, { once: true });
      try {
        await conn.beginTransaction();
        const result = await fn(countingConnection(conn, counter));
        await conn.commit();
        writes.transactionCommitted(counter.rowsAffected);
        report('onCommit', () =>
          metrics?.onCommit?.({ rowsAffected: counter.rowsAffected, attempts: attempt }),
        );
        return result;
      } catch (err) {
        if (destroyed) throw err;
        reusable = await rollbackQuietly(conn, err);
        const conflict = findRetryableTransactionError(err);
        if (!conflict || attempt >= maxAttempts) throw err;

        const { errno, code } = conflict;
        const delayMs = transactionRetryDelayMs(attempt, backoff);
        // One conflict is routine under contention; the same transaction failing again is a hot spot.
        logger[attempt === 1 ? 'debug' : 'warn'](
          { errno, code, attempt, maxAttempts, delayMs, label: options.label },
          'transaction conflict, retrying',
        );
        writes.transactionRetried(errno);
        report('onRetry', () => metrics?.onRetry?.({ errno, code, attempt }));
        await sleep(delayMs, undefined, signal ? { signal } : {});
      } finally {
        signal?.removeEventListener('abort', abandon);
        if (reusable) conn.release();
        else if (!destroyed) conn.destroy();
      }
    }
  }

  async function close(): Promise<void> {
    await pool.end();
  }

  return { pool, query, transaction, close };
}

/**
 * Rolls back after a failure; returns whether the connection can go back to the pool. A
 * connection whose rollback failed, or whose error was fatal, is in an unknown state.
 */
async function rollbackQuietly(conn: PoolConnection, cause: unknown): Promise<boolean> {
  if ((cause as { fatal?: unknown } | null)?.fatal === true) return false;
  try {
    await conn.rollback();
    return true;
  } catch {
    // The original error is what the caller needs; the broken connection is destroyed instead.
    return false;
  }
}

type Runner = (...args: unknown[]) => Promise<[QueryResult, unknown]>;

/** A write's `affectedRows`; undefined for a read (rows, not a result header). */
function affectedRowsOf(result: unknown): number | undefined {
  if (Array.isArray(result) || typeof result !== 'object' || result === null) return undefined;
  const { affectedRows } = result as { affectedRows?: unknown };
  return typeof affectedRows === 'number' ? affectedRows : undefined;
}

/**
 * The connection handed to a transaction body: the same connection, but `query` and `execute`
 * add each write's `affectedRows` to `counter` for the commit hook.
 */
function countingConnection(conn: PoolConnection, counter: { rowsAffected: number }): PoolConnection {
  return new Proxy(conn, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property === 'query' || property === 'execute') {
        const run = value as Runner;
        return async (...args: unknown[]) => {
          const result = await run.apply(target, args);
          counter.rowsAffected += affectedRowsOf(result[0]) ?? 0;
          return result;
        };
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
}
