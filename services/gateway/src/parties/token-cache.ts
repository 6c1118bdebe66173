import { z } from 'zod';
import type { DependencyPolicy, Logger, RedisClient } from '@koban/platform';
import type { StoredParty } from './party.js';

/**
 * A short-lived Redis cache of credential hash → party, in front of the database lookup that
 * every authenticated request would otherwise make. A fast path only: when Redis is slow, down
 * or its breaker open, `get` misses and `set` does nothing, and authentication reads the database.
 * Only hashes are used as keys, so the cache holds no secret.
 */
export interface TokenCache {
  get(credentialHash: string): Promise<StoredParty | undefined>;
  set(credentialHash: string, party: StoredParty): Promise<void>;
}

export interface TokenCacheDeps {
  redis: RedisClient;
  /** The gateway→redis policy (100 ms, breaker). */
  policy: DependencyPolicy;
  ttlSeconds: number;
  logger: Logger;
}

const keyOf = (credentialHash: string) => `gateway:party:${credentialHash}`;

const cachedParty = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('user'),
    user: z.object({
      userId: z.string(),
      displayName: z.string(),
      walletAccountId: z.string(),
      pointsAccountId: z.string(),
      createdAt: z.coerce.date(),
    }),
  }),
  z.object({
    kind: z.literal('merchant'),
    merchant: z.object({
      merchantId: z.string(),
      name: z.string(),
      mcc: z.string(),
      accountId: z.string(),
      createdAt: z.coerce.date(),
    }),
  }),
]);

export function createTokenCache(deps: TokenCacheDeps): TokenCache {
  const log = deps.logger.child({ component: 'token-cache' });
  return {
    async get(credentialHash) {
      let raw: string | null;
      try {
        raw = await deps.policy.execute(() => deps.redis.get(keyOf(credentialHash)), { idempotent: true });
      } catch (err) {
        log.debug({ err }, 'token cache unavailable; reading the database');
        return undefined;
      }
      if (raw === null) return undefined;
      try {
        const parsed = cachedParty.safeParse(JSON.parse(raw));
        return parsed.success ? parsed.data : undefined;
      } catch {
        // Not JSON: written by something else; the database answers instead.
        return undefined;
      }
    },

    async set(credentialHash, party) {
      try {
        await deps.policy.execute(
          () => deps.redis.set(keyOf(credentialHash), JSON.stringify(party), 'EX', deps.ttlSeconds),
          { idempotent: true },
        );
      } catch (err) {
        log.debug({ err }, 'could not cache a credential');
      }
    },
  };
}
