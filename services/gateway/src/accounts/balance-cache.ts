import { z } from 'zod';
import type { DependencyPolicy, Logger, RedisClient } from '@koban/platform';
import type { BalanceFigure } from './account.js';

/**
 * The last balance figures the ledger gave, in Redis: the gateway→ledger fallback of
 * ARCHITECTURE.md. When the ledger is down, slow or its breaker open, balances are answered from
 * here with `stale: true`. Best effort both ways: a Redis failure never fails a request.
 */
export interface BalanceCache {
  /** Keeps each figure unless a newer one (higher version) is already there. */
  remember(figures: readonly BalanceFigure[]): Promise<void>;
  /** The kept figures, in the order asked; undefined where none is kept. */
  recall(accountIds: readonly string[]): Promise<Array<BalanceFigure | undefined>>;
}

export interface BalanceCacheDeps {
  redis: RedisClient;
  /** The gateway→redis policy (100 ms, breaker). */
  policy: DependencyPolicy;
  ttlSeconds: number;
  logger: Logger;
}

const keyOf = (accountId: string) => `gateway:balance:${accountId}`;

// Compare-and-set on the version, so that a slow answer never overwrites a newer figure.
const keepNewest = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and type(decoded) == 'table' and tonumber(decoded.version) and tonumber(decoded.version) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
`;

const storedFigure = z.object({
  accountId: z.string(),
  currency: z.string(),
  available: z.number().int(),
  asOf: z.string(),
  version: z.string(),
  stale: z.boolean(),
});

export function createBalanceCache(deps: BalanceCacheDeps): BalanceCache {
  const log = deps.logger.child({ component: 'balance-cache' });
  return {
    async remember(figures) {
      try {
        await deps.policy.execute(
          () =>
            Promise.all(
              figures.map((figure) =>
                deps.redis.eval(
                  keepNewest,
                  1,
                  keyOf(figure.accountId),
                  JSON.stringify({ ...figure, stale: false }),
                  figure.version,
                  deps.ttlSeconds,
                ),
              ),
            ),
          { idempotent: true },
        );
      } catch (err) {
        log.debug({ err }, 'could not keep balances for the fallback');
      }
    },

    async recall(accountIds) {
      let raw: Array<string | null>;
      try {
        raw = await deps.policy.execute(() => deps.redis.mget(...accountIds.map(keyOf)), {
          idempotent: true,
        });
      } catch (err) {
        log.warn({ err }, 'balance fallback unavailable: Redis did not answer');
        return accountIds.map(() => undefined);
      }
      return raw.map((value) => {
        if (value === null) return undefined;
        try {
          const parsed = storedFigure.safeParse(JSON.parse(value));
          return parsed.success ? parsed.data : undefined;
        } catch {
          return undefined;
        }
      });
    },
  };
}
