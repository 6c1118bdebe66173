import type { DependencyPolicy, Logger, RedisClient } from '@koban/platform';
import type { VelocityCounts } from './fraud-rules.js';

/** The subjects a payment is counted against; empty strings for those it has none of. */
export interface VelocitySubjects {
  paymentId: string;
  userId: string;
  cardFingerprint: string;
  clientIp: string;
  merchantId: string;
}

/** The sliding windows of payments per user, card, client IP and merchant, kept in Redis. */
export interface VelocityWindow {
  /**
   * Adds the payment to the window of each of its subjects at `atMs` (once per payment id: a
   * retry does not count again) and answers how many payments each window holds, this one
   * included. Never throws: when Redis does not answer within its command budget, or the
   * fraud→redis breaker is open, the answer is undefined.
   */
  record(subjects: VelocitySubjects, atMs: number): Promise<VelocityCounts | undefined>;
}

/** What {@link createVelocityWindow} needs. */
export interface VelocityWindowDeps {
  /** Fails fast while disconnected and bounds each command (the platform's `createRedis`). */
  redis: RedisClient;
  /** The fraud→redis policy (100 ms, breaker, no retry), shared by every Redis user of the service. */
  policy: DependencyPolicy;
  logger: Logger;
  windowMs: number;
  /** Prefix of every key (default `fraud:`); windows are `<prefix>velocity:<subject>:<id>`. */
  keyPrefix?: string;
}

const subjects = ['user', 'card', 'ip', 'merchant'] as const;
const commandsPerWindow = 4;

/**
 * A sliding window per subject as a Redis sorted set (score = when, member = payment id), all of
 * a payment's windows updated in one MULTI/EXEC so concurrent payments never miss each other:
 * per window, drop entries older than the window, `ZADD NX` this payment (a retried payment
 * keeps its first time and counts once), `ZCARD`, and `PEXPIRE` so an idle subject's key
 * disappears with the window.
 */
export function createVelocityWindow(deps: VelocityWindowDeps): VelocityWindow {
  const logger = deps.logger.child({ component: 'velocity-window' });
  const keyPrefix = deps.keyPrefix ?? 'fraud:';
  let unavailableSince: number | undefined;

  return {
    async record(payment, atMs) {
      const ids: Record<(typeof subjects)[number], string> = {
        user: payment.userId,
        card: payment.cardFingerprint,
        ip: payment.clientIp,
        merchant: payment.merchantId,
      };
      const present = subjects.filter((subject) => ids[subject] !== '');
      try {
        // A payment is added once per id (ZADD NX): the transaction can be repeated safely.
        const results = await deps.policy.execute(
          async () => {
            const multi = deps.redis.multi();
            for (const subject of present) {
              const key = `${keyPrefix}velocity:${subject}:${ids[subject]}`;
              multi
                .zremrangebyscore(key, '-inf', atMs - deps.windowMs)
                .zadd(key, 'NX', atMs, payment.paymentId)
                .zcard(key)
                .pexpire(key, deps.windowMs);
            }
            const replies = await multi.exec();
            if (replies === null) throw new Error('the velocity transaction was aborted');
            const failed = replies.find(([error]) => error !== null)?.[0];
            if (failed) throw failed;
            return replies;
          },
          { idempotent: true },
        );
        const counts: VelocityCounts = { user: 0, card: null, ip: null, merchant: null };
        present.forEach((subject, index) => {
          const count = Number(results[index * commandsPerWindow + 2]?.[1]);
          if (!Number.isInteger(count)) throw new Error(`unexpected ZCARD reply for the ${subject} window`);
          counts[subject] = count;
        });
        if (unavailableSince !== undefined) {
          logger.info({ unavailableMs: atMs - unavailableSince }, 'velocity windows available again');
          unavailableSince = undefined;
        }
        return counts;
      } catch (err) {
        // Logged once per outage: while Redis is down every payment takes this path.
        if (unavailableSince === undefined) {
          unavailableSince = atMs;
          logger.warn({ err }, 'velocity windows unavailable; scoring without the velocity rules');
        }
        return undefined;
      }
    },
  };
}
