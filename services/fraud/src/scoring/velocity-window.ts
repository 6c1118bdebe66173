import type { Logger, RedisClient } from '@koban/platform';
import type { VelocityReading } from './fraud-rules.js';

/** The per-user sliding window of payments, kept in Redis. */
export interface VelocityWindow {
  /**
   * Adds the payment to its user's window at `atMs` (once per payment id: a retry does not count
   * again) and answers how many payments the window holds, this one included. Never throws: when
   * Redis does not answer within its command timeout, the reading is unavailable.
   */
  record(userId: string, paymentId: string, atMs: number): Promise<VelocityReading>;
}

/** What {@link createVelocityWindow} needs. */
export interface VelocityWindowDeps {
  /** Fails fast while disconnected and bounds each command (the platform's `createRedis`). */
  redis: RedisClient;
  logger: Logger;
  windowMs: number;
  /** Prefix of the per-user keys (default `fraud:velocity:user:`). */
  keyPrefix?: string;
}

/**
 * A sliding window per user as a Redis sorted set (score = when, member = payment id), updated
 * in one MULTI/EXEC so concurrent payments of a user never miss each other: drop entries older
 * than the window, `ZADD NX` this payment (a retried payment keeps its first time and counts
 * once), `ZCARD`, and `PEXPIRE` so an idle user's key disappears with the window.
 */
export function createVelocityWindow(deps: VelocityWindowDeps): VelocityWindow {
  const logger = deps.logger.child({ component: 'velocity-window' });
  const keyPrefix = deps.keyPrefix ?? 'fraud:velocity:user:';
  let unavailableSince: number | undefined;

  return {
    async record(userId, paymentId, atMs) {
      const key = `${keyPrefix}${userId}`;
      try {
        const results = await deps.redis
          .multi()
          .zremrangebyscore(key, '-inf', atMs - deps.windowMs)
          .zadd(key, 'NX', atMs, paymentId)
          .zcard(key)
          .pexpire(key, deps.windowMs)
          .exec();
        if (results === null) throw new Error('the velocity transaction was aborted');
        const failed = results.find(([error]) => error !== null)?.[0];
        if (failed) throw failed;
        const count = Number(results[2]?.[1]);
        if (!Number.isInteger(count)) throw new Error(`unexpected ZCARD reply ${String(results[2]?.[1])}`);
        if (unavailableSince !== undefined) {
          logger.info({ unavailableMs: atMs - unavailableSince }, 'velocity window available again');
          unavailableSince = undefined;
        }
        return { available: true, userPaymentsLastMinute: count };
      } catch (err) {
        // Logged once per outage: while Redis is down every payment takes this path.
        if (unavailableSince === undefined) {
          unavailableSince = atMs;
          logger.warn({ err }, 'velocity window unavailable; scoring without the velocity rule');
        }
        return { available: false };
      }
    },
  };
}
