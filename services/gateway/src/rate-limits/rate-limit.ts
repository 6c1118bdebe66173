/** A token bucket's shape: refilled continuously at `perSecond`, holding at most `burst` tokens. */
export interface RateLimitSettings {
  /** Sustained requests per second (API.md: 200). */
  perSecond: number;
  /** Tokens a full bucket holds: the largest burst (API.md: 400). */
  burst: number;
}

/** Whether a request may go ahead; when not, how long until a token is there again. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** A bucket's state: the tokens it held at `updatedAtMs`. */
export interface Bucket {
  tokens: number;
  updatedAtMs: number;
}

/**
 * Takes one token from `bucket` (absent: a full bucket) at `nowMs`: the bucket refilled for the
 * time since it was last touched (never above `burst`), then one token less if one is there.
 * The same arithmetic as the Redis script of `rate-limit-store.ts`.
 */
export function takeToken(
  bucket: Bucket | undefined,
  nowMs: number,
  settings: RateLimitSettings,
): { bucket: Bucket; decision: RateDecision } {
  const elapsedMs = bucket === undefined ? 0 : Math.max(0, nowMs - bucket.updatedAtMs);
  const refilled = Math.min(
    settings.burst,
    (bucket?.tokens ?? settings.burst) + (elapsedMs * settings.perSecond) / 1_000,
  );
  if (refilled >= 1) {
    return { bucket: { tokens: refilled - 1, updatedAtMs: nowMs }, decision: { allowed: true } };
  }
  const retryAfterMs = Math.ceil(((1 - refilled) * 1_000) / settings.perSecond);
  return { bucket: { tokens: refilled, updatedAtMs: nowMs }, decision: { allowed: false, retryAfterMs } };
}

/** `Retry-After` in whole seconds, at least 1. */
export function retryAfterSecondsOf(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1_000));
}

/** A token-bucket limiter: one bucket per key (a party id). */
export interface RateLimiter {
  take(key: string): Promise<RateDecision>;
}

/** Buckets kept in memory before idle (full again) ones are dropped. */
const MAX_LOCAL_BUCKETS = 10_000;

/**
 * An in-process limiter: this instance's own buckets, the fallback while Redis cannot answer.
 * Each instance then admits the full rate by itself, so N instances admit up to N times it.
 */
export function createLocalRateLimiter(
  settings: RateLimitSettings,
  now: () => number = Date.now,
): RateLimiter & { readonly size: number } {
  const buckets = new Map<string, Bucket>();
  const refillMs = (settings.burst * 1_000) / settings.perSecond;

  function dropIdleBuckets(nowMs: number): void {
    for (const [key, bucket] of buckets) {
      // A bucket untouched for a full refill is full again: the same as no bucket.
      if (nowMs - bucket.updatedAtMs >= refillMs) buckets.delete(key);
    }
    // Still too many busy ones: forget the least recently used.
    for (const key of buckets.keys()) {
      if (buckets.size <= MAX_LOCAL_BUCKETS) break;
      buckets.delete(key);
    }
  }

  return {
    get size() {
      return buckets.size;
    },
    take(key) {
      const nowMs = now();
      const { bucket, decision } = takeToken(buckets.get(key), nowMs, settings);
      // Re-inserted so that the map's order is least recently used first.
      buckets.delete(key);
      buckets.set(key, bucket);
      if (buckets.size > MAX_LOCAL_BUCKETS) dropIdleBuckets(nowMs);
      return Promise.resolve(decision);
    },
  };
}
