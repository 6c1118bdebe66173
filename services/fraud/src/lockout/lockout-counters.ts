import type { DependencyPolicy, Logger, RedisClient } from '@koban/platform';
import type { Subject } from './lockout.js';
import type { WindowEntry } from './lockout-store.js';

/** A subject's window to read or write, with how far back it reaches. */
export interface WindowRef {
  subject: Subject;
  windowMs: number;
}

/** What Redis knows of one subject. */
export interface CounterReading {
  /** Failures in the window. */
  failures: number;
  /** When its cached lock ends (epoch ms), or null when Redis holds none. */
  lockedUntilMs: number | null;
}

/**
 * The lockout counters in Redis: a sliding window of failures per subject and a cached copy of
 * each lock. Every method answers `undefined` (or does nothing) when Redis fails within its
 * command budget or the fraud→redis breaker is open: the caller falls back to the database.
 * Never throws.
 */
export interface LockoutCounters {
  /** Adds each failure to its subject's window (once per id); answers each window's count after. */
  addFailures(entries: readonly (WindowRef & WindowEntry)[], nowMs: number): Promise<number[] | undefined>;
  /**
   * Puts back failures a window lost (flush, eviction, outage); ids already there stay as they
   * are. False when Redis failed.
   */
  refill(ref: WindowRef, entries: readonly WindowEntry[], nowMs: number): Promise<boolean>;
  /** The failures and the cached lock of each subject. */
  read(refs: readonly WindowRef[], nowMs: number): Promise<CounterReading[] | undefined>;
  /** Caches a lock until it ends. */
  cacheLock(subject: Subject, lockedUntilMs: number, nowMs: number): Promise<void>;
}

export interface LockoutCountersDeps {
  redis: RedisClient;
  /** The fraud→redis policy (100 ms, breaker, no retry), shared by every Redis user of the service. */
  policy: DependencyPolicy;
  logger: Logger;
  /** Prefix of every key (default `fraud:`). */
  keyPrefix?: string;
  /** A window keeps at most this many newest failures (default 1000); counts saturate there. */
  maxEntries?: number;
}

// Each failure is added once per journal id (ZADD NX) and a lock is set to its end: every command
// here can be repeated safely.
const idempotent = { idempotent: true } as const;

/** Throws the first error of a MULTI/EXEC or pipeline reply, and answers the replies. */
function repliesOf(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error('the Redis transaction was aborted');
  const failed = results.find(([error]) => error !== null)?.[0];
  if (failed) throw failed;
  return results.map(([, reply]) => reply);
}

/**
 * Sliding windows rather than fixed-window counters: "5 within 1 h" must hold over any hour,
 * whereas fixed windows let 4 failures just before a boundary and 4 just after pass unlocked.
 * A window is a sorted set (score = time, member = the failure's journal id) updated in one
 * MULTI: drop entries older than the window, `ZADD NX`, trim to the newest `maxEntries`,
 * `ZCARD`, and `PEXPIRE` the key to the window so an idle subject's key disappears with it.
 * Concurrent failures of one subject are serialised by Redis, so exactly one of them reaches the
 * locking count. Locks are cached as `lock:<type>:<key>` = end (epoch ms), expiring at the end.
 */
export function createLockoutCounters(deps: LockoutCountersDeps): LockoutCounters {
  const logger = deps.logger.child({ component: 'lockout-counters' });
  const prefix = deps.keyPrefix ?? 'fraud:';
  const maxEntries = deps.maxEntries ?? 1000;
  const windowKey = (subject: Subject) => `${prefix}cardcheck:${subject.type}:${subject.key}`;
  const lockKey = (subject: Subject) => `${prefix}lock:${subject.type}:${subject.key}`;
  let unavailableSince: number | undefined;

  const succeeded = (nowMs: number): void => {
    if (unavailableSince === undefined) return;
    logger.info({ unavailableMs: nowMs - unavailableSince }, 'lockout counters available again');
    unavailableSince = undefined;
  };
  // Logged once per outage: while Redis is down every card check takes this path.
  const failed = (err: unknown, nowMs: number): undefined => {
    if (unavailableSince === undefined) {
      unavailableSince = nowMs;
      logger.warn({ err }, 'lockout counters unavailable; counting in the database');
    }
    return undefined;
  };

  return {
    async addFailures(entries, nowMs) {
      try {
        const replies = await deps.policy.execute(async () => {
          const multi = deps.redis.multi();
          for (const entry of entries) {
            const key = windowKey(entry.subject);
            multi
              .zremrangebyscore(key, '-inf', nowMs - entry.windowMs)
              .zadd(key, 'NX', entry.atMs, entry.id)
              .zremrangebyrank(key, 0, -(maxEntries + 1))
              .zcard(key)
              .pexpire(key, entry.windowMs);
          }
          return repliesOf(await multi.exec());
        }, idempotent);
        succeeded(nowMs);
        return entries.map((_, index) => Number(replies[index * 5 + 3]));
      } catch (err) {
        return failed(err, nowMs);
      }
    },

    async refill(ref, entries, nowMs) {
      if (entries.length === 0) return true;
      try {
        const key = windowKey(ref.subject);
        const members = entries.flatMap((entry) => [entry.atMs, entry.id]);
        await deps.policy.execute(
          async () =>
            repliesOf(
              await deps.redis
                .multi()
                .zadd(key, 'NX', ...members)
                .zremrangebyscore(key, '-inf', nowMs - ref.windowMs)
                .zremrangebyrank(key, 0, -(maxEntries + 1))
                .pexpire(key, ref.windowMs)
                .exec(),
            ),
          idempotent,
        );
        return true;
      } catch (err) {
        failed(err, nowMs);
        return false;
      }
    },

    async read(refs, nowMs) {
      if (refs.length === 0) return [];
      try {
        const replies = await deps.policy.execute(async () => {
          const pipeline = deps.redis.pipeline();
          for (const ref of refs) {
            pipeline
              .zcount(windowKey(ref.subject), `(${nowMs - ref.windowMs}`, '+inf')
              .get(lockKey(ref.subject));
          }
          return repliesOf(await pipeline.exec());
        }, idempotent);
        succeeded(nowMs);
        return refs.map((_, index) => {
          const cached = replies[index * 2 + 1];
          const lockedUntilMs = typeof cached === 'string' ? Number(cached) : NaN;
          return {
            failures: Number(replies[index * 2]),
            lockedUntilMs: Number.isFinite(lockedUntilMs) ? lockedUntilMs : null,
          };
        });
      } catch (err) {
        return failed(err, nowMs);
      }
    },

    async cacheLock(subject, lockedUntilMs, nowMs) {
      const ttlMs = lockedUntilMs - nowMs;
      if (ttlMs <= 0) return;
      try {
        await deps.policy.execute(
          () => deps.redis.set(lockKey(subject), String(lockedUntilMs), 'PX', ttlMs),
          idempotent,
        );
      } catch (err) {
        failed(err, nowMs);
      }
    },
  };
}
