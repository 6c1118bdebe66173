import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalRateLimiter, retryAfterSecondsOf, takeToken, type Bucket } from './rate-limit.js';

const settings = { perSecond: 10, burst: 20 };

describe('takeToken', () => {
  it('starts full: a burst of `burst` requests goes through, the next is refused', () => {
    let bucket: Bucket | undefined;
    const decisions = [];
    for (let index = 0; index < 21; index += 1) {
      const taken = takeToken(bucket, 1_000, settings);
      bucket = taken.bucket;
      decisions.push(taken.decision.allowed);
    }
    assert.equal(decisions.filter(Boolean).length, 20);
    assert.equal(decisions.at(-1), false);
  });

  it('refills at the sustained rate and says how long until the next token', () => {
    const empty: Bucket = { tokens: 0, updatedAtMs: 1_000 };
    const refused = takeToken(empty, 1_050, settings).decision;
    assert.deepEqual(refused, { allowed: false, retryAfterMs: 50 });
    assert.equal(takeToken(empty, 1_100, settings).decision.allowed, true);
  });

  it('never holds more than the burst, however long it was idle', () => {
    const { bucket } = takeToken({ tokens: 0, updatedAtMs: 0 }, 3_600_000, settings);
    assert.equal(bucket.tokens, 19);
  });

  it('ignores a clock going backwards', () => {
    const { bucket, decision } = takeToken({ tokens: 0.5, updatedAtMs: 2_000 }, 1_000, settings);
    assert.equal(decision.allowed, false);
    assert.equal(bucket.tokens, 0.5);
  });
});

describe('retryAfterSecondsOf', () => {
  it('rounds up to whole seconds, at least 1', () => {
    assert.deepEqual([1, 999, 1_000, 1_001].map(retryAfterSecondsOf), [1, 1, 1, 2]);
  });
});

describe('createLocalRateLimiter', () => {
  it('keeps one bucket per key', async () => {
    let now = 0;
    const limiter = createLocalRateLimiter({ perSecond: 1, burst: 2 }, () => now);
    assert.equal((await limiter.take('a')).allowed, true);
    assert.equal((await limiter.take('a')).allowed, true);
    assert.deepEqual(await limiter.take('a'), { allowed: false, retryAfterMs: 1_000 });
    assert.equal((await limiter.take('b')).allowed, true);
    now = 1_000;
    assert.equal((await limiter.take('a')).allowed, true);
  });

  it('forgets buckets that are full again once it holds too many', async () => {
    let now = 0;
    const limiter = createLocalRateLimiter({ perSecond: 1_000, burst: 1 }, () => now);
    for (let index = 0; index <= 10_000; index += 1) await limiter.take(`key-${index}`);
    assert.ok(limiter.size <= 10_001);
    now = 10;
    await limiter.take('one-more');
    assert.equal(limiter.size, 1);
  });
});
