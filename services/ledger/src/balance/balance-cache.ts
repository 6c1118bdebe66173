// The balance cache in Redis: the last known balance of each account, written by the ledger after
// every committed change (and refreshed on reads), read by the gateway as its fallback when the
// ledger is down. The database is the truth; Redis trouble never fails a ledger call. Every
// command goes through the ledger→redis policy (100 ms, breaker): while Redis is down the breaker
// opens and writes are skipped at once instead of each waiting for its failure.
//
// Format (documented in the service README, relied on by the gateway):
//   key   ledger:balance:<accountId>
//   value JSON {"accountId","currency","available","version","asOf"}: available and version are
//         decimal strings (int64, exact), asOf an ISO-8601 UTC time (when the figure was true).
//   TTL   BALANCE_CACHE_TTL_SECONDS (7 days by default), renewed by every write.
// A write never replaces a higher version, nor the same version with a later asOf.
import { z } from 'zod';
import type { DependencyPolicy, Logger, RedisClient } from '@koban/platform';
import type { Balance } from '../accounts/account.js';

/** Prefix of every balance cache key. */
export const BALANCE_CACHE_KEY_PREFIX = 'ledger:balance:';

/** The Redis key holding an account's cached balance. */
export function balanceCacheKey(accountId: string): string {
  return `${BALANCE_CACHE_KEY_PREFIX}${accountId}`;
}

/** The JSON value stored under a balance cache key. */
export interface CachedBalance {
  accountId: string;
  currency: string;
  /** Minor units, as a decimal string. */
  available: string;
  /** The account's version, as a decimal string: higher is newer. */
  version: string;
  /** ISO-8601 UTC: when the figure was true. */
  asOf: string;
}

const decimal = z.string().regex(/^-?\d{1,19}$/);

/** Validates a cached value; anything else is treated as absent. */
export const cachedBalanceSchema = z.object({
  accountId: z.string().min(1),
  currency: z.string().min(1),
  available: decimal,
  version: decimal,
  asOf: z.iso.datetime(),
});

export function toCachedBalance(balance: Balance): CachedBalance {
  return {
    accountId: balance.accountId,
    currency: balance.currency,
    available: balance.available.toString(),
    version: balance.version.toString(),
    asOf: balance.asOf.toISOString(),
  };
}

/** Parses a cached value; undefined when it is not a well-formed balance. */
export function parseCachedBalance(json: string | null | undefined): CachedBalance | undefined {
  if (json === null || json === undefined) return undefined;
  try {
    const parsed = cachedBalanceSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** A cached balance as the domain's Balance, marked stale (it was not read from the database). */
export function fromCachedBalance(cached: CachedBalance): Balance {
  return {
    accountId: cached.accountId,
    currency: cached.currency,
    available: BigInt(cached.available),
    version: BigInt(cached.version),
    asOf: new Date(cached.asOf),
    stale: true,
  };
}

/**
 * Sets KEYS[1] to ARGV[1] (with ARGV[4] seconds to live) unless the value there is newer: a higher
 * version, or the same version as of a later or equal time. ARGV[2] is the version, ARGV[3] asOf.
 * Returns 1 when written. asOf strings are Date#toISOString output, so they compare as text.
 */
export const setIfNewerScript = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, cached = pcall(cjson.decode, current)
  if ok and type(cached) == 'table' then
    local version = tonumber(cached['version'])
    local incoming = tonumber(ARGV[2])
    if version ~= nil and incoming ~= nil then
      if version > incoming then return 0 end
      if version == incoming and type(cached['asOf']) == 'string' and cached['asOf'] >= ARGV[3] then
        return 0
      end
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
return 1
`;

export interface BalanceCache {
  /**
   * Records the balances unless Redis holds newer ones. Never rejects: a Redis failure (or the
   * open breaker) is logged once per burst of failures and ignored.
   */
  write(balances: readonly Balance[]): Promise<void>;
  /**
   * The cached balances of `accountIds` (undefined where absent); rejects when Redis fails, times
   * out or its breaker is open.
   */
  read(accountIds: readonly string[]): Promise<(CachedBalance | undefined)[]>;
}

export interface BalanceCacheDeps {
  redis: Pick<RedisClient, 'pipeline' | 'mget'>;
  /** The ledger→redis policy (100 ms, breaker, no retry), built once in main.ts. */
  policy: DependencyPolicy;
  logger: Logger;
  ttlSeconds: number;
}

export function createBalanceCache(deps: BalanceCacheDeps): BalanceCache {
  const logger = deps.logger.child({ component: 'balance-cache' });
  let failing = false;

  return {
    async write(balances) {
      if (balances.length === 0) return;
      try {
        await deps.policy.execute(
          async () => {
            const pipeline = deps.redis.pipeline();
            for (const balance of balances) {
              const cached = toCachedBalance(balance);
              pipeline.eval(
                setIfNewerScript,
                1,
                balanceCacheKey(cached.accountId),
                JSON.stringify(cached),
                cached.version,
                cached.asOf,
                deps.ttlSeconds,
              );
            }
            const results = (await pipeline.exec()) ?? [];
            const failed = results.find(([error]) => error !== null)?.[0];
            if (failed) throw failed;
          },
          // Setting a figure unless a newer one is there can be repeated safely.
          { idempotent: true },
        );
        if (failing) {
          failing = false;
          logger.info('balance cache writes recovered');
        }
      } catch (err) {
        // The database is the truth and the gateway's fallback tolerates an older figure: a
        // failed refresh only makes the cache staler. One line per outage, not per write.
        if (!failing) {
          failing = true;
          logger.warn({ err }, 'balance cache write failed; carrying on without it');
        }
      }
    },

    async read(accountIds) {
      if (accountIds.length === 0) return [];
      const values = await deps.policy.execute(() => deps.redis.mget(...accountIds.map(balanceCacheKey)), {
        idempotent: true,
      });
      return values.map((value, index) => {
        const cached = parseCachedBalance(value);
        return cached?.accountId === accountIds[index] ? cached : undefined;
      });
    },
  };
}
