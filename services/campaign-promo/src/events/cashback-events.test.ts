import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deterministicEventId } from './cashback-events.js';
import { backoffDelayMs } from '../background/backoff.js';

void describe('event ids of facts announced more than once', () => {
  void it('are UUIDs that depend only on the fact', () => {
    const id = deterministicEventId('cashback-granted:pay_1');
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(deterministicEventId('cashback-granted:pay_1'), id);
    assert.notEqual(deterministicEventId('cashback-granted:pay_2'), id);
  });
});

void describe('retry backoff', () => {
  void it('doubles from the initial delay up to the cap, jittered down by at most a fifth', () => {
    const backoff = { initialMs: 1_000, maxMs: 300_000 };
    assert.equal(
      backoffDelayMs(1, backoff, () => 1),
      1_000,
    );
    assert.equal(
      backoffDelayMs(4, backoff, () => 1),
      8_000,
    );
    assert.equal(
      backoffDelayMs(20, backoff, () => 1),
      300_000,
    );
    assert.equal(
      backoffDelayMs(20, backoff, () => 0),
      240_000,
    );
  });
});
