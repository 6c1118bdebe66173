import type { DependencyPolicy, Logger, RedisClient } from '@koban/platform';
import type { BudgetSnapshot } from '../campaigns/campaign-store.js';

/**
 * What the Redis fast path says about taking points from a campaign's budget:
 * - `reserved`: the counter had enough and was decremented (give it back with `release` if the
 *   grant is not recorded after all);
 * - `exhausted`: the counter has less than asked: the grant skips this campaign without taking
 *   TiDB's row lock;
 * - `missing`: there is no counter (never set, expired, Redis restarted);
 * - `unknown`: Redis is down, slow or behind an open breaker: the caller uses TiDB alone.
 */
export type Reservation = 'reserved' | 'exhausted' | 'missing' | 'unknown';

/** The Redis counters of remaining points, one per campaign. TiDB is the truth; these only admit. */
export interface BudgetCounter {
  reserve(campaignId: string, points: number): Promise<Reservation>;
  /** Adds points back to an existing counter; best effort. */
  release(campaignId: string, points: number): Promise<void>;
  /** Overwrites a counter with TiDB's remaining points; best effort, false when Redis failed. */
  set(budget: BudgetSnapshot): Promise<boolean>;
  /** The counter, or undefined when there is none or Redis cannot say. */
  read(campaignId: string): Promise<number | undefined>;
}

// Atomic on the Redis side: decrement only when enough remains.
const reserveScript = `
local remaining = redis.call('GET', KEYS[1])
if not remaining then return -1 end
local wanted = tonumber(ARGV[1])
if tonumber(remaining) >= wanted then
  redis.call('DECRBY', KEYS[1], wanted)
  return 1
end
return 0`;

const releaseScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return nil`;

/** A counter outlives its campaign's end by a day, so late deferred grants still find it. */
const keepAfterEndMs = 24 * 3_600_000;
const minimumTtlMs = 60_000;

export interface RedisBudgetCounterDeps {
  redis: Pick<RedisClient, 'eval' | 'set' | 'get'>;
  /** The campaign-promo→redis policy: 100 ms, breaker, no retry. */
  policy: DependencyPolicy;
  logger: Logger;
  /** Key namespace; tests give each run its own. */
  keyPrefix?: string;
  now?: () => Date;
}

export function createRedisBudgetCounter(deps: RedisBudgetCounterDeps): BudgetCounter {
  const prefix = deps.keyPrefix ?? 'campaign-promo';
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger.child({ component: 'budget-counter' });
  // The braces make every key of a campaign hash to one Redis Cluster slot.
  const keyOf = (campaignId: string): string => `${prefix}:budget:{${campaignId}}:remaining`;

  return {
    reserve(campaignId, points) {
      return deps.policy.withFallback<Reservation>(
        async () => {
          const answer = await deps.redis.eval(reserveScript, 1, keyOf(campaignId), points);
          if (answer === 1) return 'reserved';
          if (answer === 0) return 'exhausted';
          return 'missing';
        },
        () => 'unknown',
      );
    },

    async release(campaignId, points) {
      await deps.policy.withFallback(
        async () => {
          await deps.redis.eval(releaseScript, 1, keyOf(campaignId), points);
        },
        (reason) => {
          // The counter stays low until the next reconciliation: grants may be refused early, never over-granted.
          logger.warn({ err: reason, campaignId, points }, 'could not give points back to the Redis counter');
        },
      );
    },

    set(budget) {
      const remaining = Math.max(0, budget.budgetPoints - budget.grantedPoints);
      const ttlMs = Math.max(minimumTtlMs, budget.endsAt.getTime() + keepAfterEndMs - now().getTime());
      return deps.policy.withFallback(
        async () => {
          await deps.redis.set(keyOf(budget.campaignId), remaining, 'PX', ttlMs);
          return true;
        },
        () => false,
      );
    },

    read(campaignId) {
      return deps.policy.withFallback<number | undefined>(
        async () => {
          const value = await deps.redis.get(keyOf(campaignId));
          return value === null ? undefined : Number(value);
        },
        () => undefined,
      );
    },
  };
}
