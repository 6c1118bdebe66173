import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitState } from 'cockatiel';
import { ConsecutiveOrRateBreaker, FailureRateBreaker } from './breaker-rule.js';

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

const defaults = { consecutiveFailures: 5, threshold: 0.5, windowMs: 10_000, minimumCalls: 5 };

/** Feeds `S` (success) and `F` (failure) calls, returning after which call (1-based) it opened. */
function feed(breaker: ConsecutiveOrRateBreaker | FailureRateBreaker, calls: string): number | undefined {
  let openedAt: number | undefined;
  [...calls].forEach((call, i) => {
    if (call === 'S') {
      breaker.success(CircuitState.Closed);
    } else if (breaker.failure(CircuitState.Closed)) {
      openedAt ??= i + 1;
    }
  });
  return openedAt;
}

describe('ConsecutiveOrRateBreaker', () => {
  it('opens on the fifth consecutive failure, not before', () => {
    const clock = fakeClock();
    const breaker = new ConsecutiveOrRateBreaker({ ...defaults, threshold: 1, now: clock.now });
    assert.equal(feed(breaker, 'FFFF'), undefined);
    assert.equal(breaker.failure(CircuitState.Closed), true);
    assert.equal(breaker.lastOpenedBy, 'consecutive_failures');
  });

  it('counts consecutive failures from the last success', () => {
    const breaker = new ConsecutiveOrRateBreaker({ ...defaults, threshold: 1, now: fakeClock().now });
    assert.equal(feed(breaker, 'FFFFSFFFF'), undefined);
    assert.equal(breaker.failure(CircuitState.Closed), true);
  });

  it('does not open by rate with 4 failures in 4 calls, below the minimum call count', () => {
    const breaker = new ConsecutiveOrRateBreaker({ ...defaults, now: fakeClock().now });
    assert.equal(feed(breaker, 'FFFF'), undefined);
    assert.deepEqual(breaker.windowTotals(), { failures: 4, calls: 4 });
  });

  it('opens by rate when exactly half of 10 calls failed, without 5 in a row', () => {
    const breaker = new ConsecutiveOrRateBreaker({ ...defaults, now: fakeClock().now });
    // 4 of 9 is below half; the 10th call makes it 5 of 10, and the longest run is 4.
    assert.equal(feed(breaker, 'SSSSFSFFFF'), 10);
    assert.equal(breaker.lastOpenedBy, 'failure_rate');
  });

  it('opens by rate as soon as the window holds the minimum number of calls', () => {
    const breaker = new ConsecutiveOrRateBreaker({ ...defaults, now: fakeClock().now });
    assert.equal(feed(breaker, 'FSFSF'), 5);
  });

  it('stays closed below half', () => {
    const breaker = new ConsecutiveOrRateBreaker({ ...defaults, now: fakeClock().now });
    assert.equal(feed(breaker, 'SSSSSSFSFSFSF'), undefined);
  });

  it('forgets failures older than the window', () => {
    const clock = fakeClock();
    const breaker = new ConsecutiveOrRateBreaker({ ...defaults, now: clock.now });
    feed(breaker, 'FFFFS');
    clock.advance(11_000);
    // Had the four old failures been kept, 5 of 9 would open it.
    assert.equal(feed(breaker, 'SSSF'), undefined);
    assert.deepEqual(breaker.windowTotals(), { failures: 1, calls: 4 });
  });

  it('forgets old failures after an idle period too', () => {
    const clock = fakeClock();
    const breaker = new ConsecutiveOrRateBreaker({
      ...defaults,
      threshold: 0.5,
      consecutiveFailures: 50,
      now: clock.now,
    });
    feed(breaker, 'FFFF');
    clock.advance(3_600_000);
    assert.equal(breaker.failure(CircuitState.Closed), false);
    assert.deepEqual(breaker.windowTotals(), { failures: 1, calls: 1 });
  });

  it('slides the window: calls leave it as time passes', () => {
    const clock = fakeClock(0);
    const breaker = new ConsecutiveOrRateBreaker({ ...defaults, consecutiveFailures: 50, now: clock.now });
    feed(breaker, 'SSSS');
    clock.advance(5_000);
    feed(breaker, 'FFF');
    clock.advance(5_500);
    // The successes are now more than 10 s old; the three failures are 5.5 s old.
    assert.deepEqual(breaker.windowTotals(), { failures: 3, calls: 3 });
    assert.equal(feed(breaker, 'S'), undefined);
    assert.equal(breaker.failure(CircuitState.Closed), true);
  });

  it('starts afresh after a successful trial call', () => {
    const breaker = new ConsecutiveOrRateBreaker({ ...defaults, now: fakeClock().now });
    assert.equal(feed(breaker, 'FSFSF'), 5);
    breaker.success(CircuitState.HalfOpen);
    assert.deepEqual(breaker.windowTotals(), { failures: 0, calls: 1 });
    // With the old window (3 failures of 5) kept, these two would open it.
    assert.equal(feed(breaker, 'FF'), undefined);
    assert.deepEqual(breaker.windowTotals(), { failures: 2, calls: 3 });
  });

  it('forgets everything on reset', () => {
    const breaker = new ConsecutiveOrRateBreaker({ ...defaults, now: fakeClock().now });
    feed(breaker, 'FFFF');
    breaker.reset();
    assert.deepEqual(breaker.windowTotals(), { failures: 0, calls: 0 });
    assert.equal(feed(breaker, 'FFFF'), undefined);
    assert.equal(breaker.lastOpenedBy, undefined);
  });

  it('round-trips its state for cockatiel serialisation', () => {
    const clock = fakeClock();
    const first = new ConsecutiveOrRateBreaker({ ...defaults, now: clock.now });
    feed(first, 'SFFFF');
    const second = new ConsecutiveOrRateBreaker({ ...defaults, now: clock.now });
    second.state = JSON.parse(JSON.stringify(first.state)) as unknown;
    assert.deepEqual(second.windowTotals(), { failures: 4, calls: 5 });
    assert.equal(second.failure(CircuitState.Closed), true);
  });

  it('rejects settings that cannot express the rule', () => {
    assert.throws(() => new ConsecutiveOrRateBreaker({ ...defaults, consecutiveFailures: 0 }), RangeError);
    assert.throws(() => new ConsecutiveOrRateBreaker({ ...defaults, threshold: 0 }), RangeError);
    assert.throws(() => new ConsecutiveOrRateBreaker({ ...defaults, threshold: 1.5 }), RangeError);
    assert.throws(() => new ConsecutiveOrRateBreaker({ ...defaults, windowMs: 0 }), RangeError);
    assert.throws(() => new ConsecutiveOrRateBreaker({ ...defaults, minimumCalls: 2.5 }), RangeError);
  });
});

describe('FailureRateBreaker', () => {
  it('needs the minimum number of calls however bad the rate', () => {
    const breaker = new FailureRateBreaker({
      threshold: 0.5,
      windowMs: 10_000,
      minimumCalls: 5,
      now: fakeClock().now,
    });
    assert.equal(feed(breaker, 'FFFFFFFF'), 5);
  });

  it('treats the threshold as inclusive', () => {
    const breaker = new FailureRateBreaker({
      threshold: 0.3,
      windowMs: 10_000,
      minimumCalls: 10,
      now: fakeClock().now,
    });
    assert.equal(feed(breaker, 'SSSSSSSFFF'), 10);
  });
});
