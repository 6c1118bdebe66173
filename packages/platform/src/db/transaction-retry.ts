/**
 * Server error numbers after which the whole transaction is known to be rolled back (or its commit
 * refused) and can be run again from the start:
 *
 * - 1213 `ER_LOCK_DEADLOCK` (MySQL/MariaDB/TiDB pessimistic): the server chose this transaction as
 *   the deadlock victim and rolled it back.
 * - 1205 `ER_LOCK_WAIT_TIMEOUT`: only the statement is rolled back, so the caller must roll back the
 *   rest before retrying (the transaction runner always does).
 * - 9007 TiDB write conflict (optimistic commit or pessimistic retry limit).
 * - 8002 TiDB "SELECT FOR UPDATE can not be retried" after a conflict.
 * - 8022 TiDB "transaction commit failed, safe to retry".
 */
export const retryableTransactionErrnos: ReadonlySet<number> = new Set([1213, 1205, 9007, 8002, 8022]);

/** How deep to follow `cause` links: store code may wrap a driver error, but cycles must not hang us. */
const maxCauseDepth = 5;

/**
 * Whether a failed transaction may be retried as a whole: a write conflict or deadlock reported by
 * the server (see {@link retryableTransactionErrnos}), possibly wrapped as the `cause` of another
 * error. Pure: looks only at the value it is given.
 *
 * Anything else is not retryable, and in particular a lost connection (`PROTOCOL_CONNECTION_LOST`,
 * `ECONNRESET`, any error mysql2 marks `fatal`): if it was lost during or just before `COMMIT`, the
 * transaction may have committed, so running it again could apply it twice.
 */
export function isRetryableTransactionError(err: unknown): boolean {
  return findRetryableTransactionError(err) !== undefined;
}

/**
 * The server error that makes `err` retryable (`err` itself or one of its causes), with its
 * number and driver code for logs and metrics; undefined when `err` is not retryable.
 */
export function findRetryableTransactionError(
  err: unknown,
): { errno: number; code: string | undefined } | undefined {
  let current: unknown = err;
  for (let depth = 0; depth <= maxCauseDepth; depth += 1) {
    if (typeof current !== 'object' || current === null) return undefined;
    const candidate = current as { errno?: unknown; code?: unknown; fatal?: unknown; cause?: unknown };
    if (candidate.fatal === true) return undefined;
    if (typeof candidate.errno === 'number' && retryableTransactionErrnos.has(candidate.errno)) {
      return {
        errno: candidate.errno,
        code: typeof candidate.code === 'string' ? candidate.code : undefined,
      };
    }
    current = candidate.cause;
  }
  return undefined;
}

/** Backoff between whole-transaction attempts. */
export interface RetryBackoff {
  /** Upper bound of the first delay, in ms; doubled each attempt. */
  baseDelayMs: number;
  /** Cap on any one delay, in ms. */
  maxDelayMs: number;
}

/**
 * Delay before the attempt after `failedAttempt` (1-based): "equal jitter" exponential backoff,
 * half fixed and half random, so that two transactions that just deadlocked on each other do not
 * come back in lockstep, yet neither comes back immediately.
 */
export function transactionRetryDelayMs(
  failedAttempt: number,
  backoff: RetryBackoff,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** Math.max(0, failedAttempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
