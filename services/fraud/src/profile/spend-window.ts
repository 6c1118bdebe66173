import type { DependencyPolicy, Logger, RedisClient } from '@koban/platform';
import type { SpendReading } from '../scoring/fraud-rules.js';
import type { CompletedPayment } from './profile.js';

/** What each user paid over the last 24 h (completed payments), kept in Redis. */
export interface SpendWindow {
  /** Adds a completed payment (once per payment id, whatever the redeliveries). Never throws. */
  add(payment: CompletedPayment, nowMs: number): Promise<void>;
  /** The sum and distinct merchants of the user's window; undefined when Redis fails or its breaker is open. */
  read(userId: string, nowMs: number): Promise<SpendReading | undefined>;
}

export interface SpendWindowDeps {
  redis: RedisClient;
  /** The fraud→redis policy (100 ms, breaker, no retry), shared by every Redis user of the service. */
  policy: DependencyPolicy;
  logger: Logger;
  windowMs: number;
  /** Prefix of every key (default `fraud:`); windows are `<prefix>spend:user:<userId>`. */
  keyPrefix?: string;
  /** A window keeps at most this many newest payments (default 2000): sums beyond are partial. */
  maxEntries?: number;
}

/**
 * A sorted set per user (score = completion time, member = `[paymentId, merchantId, amount]` as
 * JSON: the same for every delivery of one payment, so `ZADD NX` counts it once). Trimmed to the
 * window and to `maxEntries`, expiring with the window. Approximate by design: a Redis flush
 * empties it and it refills as payments complete; the durable per-user features are the profile
 * tables.
 */
export function createSpendWindow(deps: SpendWindowDeps): SpendWindow {
  const logger = deps.logger.child({ component: 'spend-window' });
  const prefix = deps.keyPrefix ?? 'fraud:';
  const maxEntries = deps.maxEntries ?? 2000;
  const keyOf = (userId: string) => `${prefix}spend:user:${userId}`;
  let unavailableSince: number | undefined;

  const failed = (err: unknown, nowMs: number): undefined => {
    if (unavailableSince === undefined) {
      unavailableSince = nowMs;
      logger.warn({ err }, 'spend windows unavailable');
    }
    return undefined;
  };
  const succeeded = (): void => {
    unavailableSince = undefined;
  };

  return {
    async add(payment, nowMs) {
      if (payment.completedAtMs <= nowMs - deps.windowMs) return;
      const key = keyOf(payment.userId);
      const member = JSON.stringify([payment.paymentId, payment.merchantId, payment.amount.toString()]);
      try {
        await deps.policy.execute(
          async () => {
            const results = await deps.redis
              .multi()
              .zadd(key, 'NX', payment.completedAtMs, member)
              .zremrangebyscore(key, '-inf', nowMs - deps.windowMs)
              .zremrangebyrank(key, 0, -(maxEntries + 1))
              .pexpire(key, deps.windowMs)
              .exec();
            const error = results?.find(([err]) => err !== null)?.[0];
            if (results === null || error) throw error ?? new Error('the spend transaction was aborted');
          },
          // The member is the same for every delivery of a payment (ZADD NX): safe to repeat.
          { idempotent: true },
        );
        succeeded();
      } catch (err) {
        failed(err, nowMs);
      }
    },

    async read(userId, nowMs) {
      try {
        const members = await deps.policy.execute(
          () => deps.redis.zrangebyscore(keyOf(userId), `(${nowMs - deps.windowMs}`, '+inf'),
          { idempotent: true },
        );
        succeeded();
        let amount = 0n;
        const merchants = new Set<string>();
        for (const member of members) {
          const [, merchantId, paid] = JSON.parse(member) as [string, string, string];
          amount += BigInt(paid);
          if (merchantId !== '') merchants.add(merchantId);
        }
        return { amount, merchants: merchants.size };
      } catch (err) {
        return failed(err, nowMs);
      }
    },
  };
}
