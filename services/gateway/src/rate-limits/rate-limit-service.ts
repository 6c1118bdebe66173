import type { DependencyPolicy, Logger } from '@koban/platform';
import type { RateLimiter, RateLimitSettings } from './rate-limit.js';
import type { RateLimitStore } from './rate-limit-store.js';

export interface RateLimitServiceDeps {
  store: RateLimitStore;
  /** The gateway→redis policy (100 ms, breaker), shared with the caches. */
  policy: DependencyPolicy;
  /** This instance's own buckets: used while Redis cannot answer. */
  local: RateLimiter;
  settings: RateLimitSettings;
  logger: Logger;
}

/**
 * Per-token rate limits (API.md: 200/s sustained, bursts of 400): a token bucket per party in
 * Redis, shared by all instances. When Redis is slow, down or its breaker open, each instance
 * limits with its own in-process buckets instead (so N instances admit up to N times the rate):
 * a Redis outage never fails a request, nor turns the limits off.
 */
export function createRateLimitService(deps: RateLimitServiceDeps): RateLimiter {
  const log = deps.logger.child({ component: 'rate-limits' });
  let onLocalBuckets = false;
  return {
    take(key) {
      return deps.policy.withFallback(
        async () => {
          const decision = await deps.store.take(key, deps.settings);
          if (onLocalBuckets) {
            onLocalBuckets = false;
            log.info('Redis answers again: rate limits are shared across instances again');
          }
          return decision;
        },
        (reason) => {
          if (!onLocalBuckets) {
            onLocalBuckets = true;
            log.warn({ err: reason }, 'Redis unavailable: rate limits fall back to in-process buckets');
          }
          return deps.local.take(key);
        },
        { idempotent: false },
      );
    },
  };
}
