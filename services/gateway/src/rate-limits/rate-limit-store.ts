import type { RedisClient } from '@koban/platform';
import type { RateDecision, RateLimitSettings } from './rate-limit.js';

/** The per-token buckets in Redis, shared by every gateway instance. */
export interface RateLimitStore {
  /** Takes a token from `key`'s bucket; rejects when Redis does not answer. */
  take(key: string, settings: RateLimitSettings): Promise<RateDecision>;
}

const keyOf = (key: string) => `gateway:ratelimit:${key}`;

// One token bucket, atomically: `takeToken` of rate-limit.ts in Lua. Redis's own clock (TIME)
// is the one every instance shares. The hash expires once a full refill has passed, when an
// absent bucket (full) means the same. ARGV: per second, burst.
const takeTokenScript = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local perSecond = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil or updated == nil then
  tokens = burst
  updated = now
end
tokens = math.min(burst, tokens + math.max(0, now - updated) * perSecond / 1000)
local allowed = 0
local retryMs = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retryMs = math.ceil((1 - tokens) * 1000 / perSecond)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / perSecond) + 1000)
return {allowed, retryMs}
`;

export function createRateLimitStore(redis: RedisClient): RateLimitStore {
  return {
    async take(key, settings) {
      const reply: unknown = await redis.eval(
        takeTokenScript,
        1,
        keyOf(key),
        settings.perSecond,
        settings.burst,
      );
      if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
        throw new Error('the rate-limit script answered an unexpected reply');
      }
      return reply[0] === 1 ? { allowed: true } : { allowed: false, retryAfterMs: reply[1] };
    },
  };
}
