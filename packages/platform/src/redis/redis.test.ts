import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redisReconnectDelayMs } from './redis.js';

void describe('redisReconnectDelayMs', () => {
  void it('backs off exponentially from 50 ms with up to 100 ms of jitter', () => {
    assert.equal(
      redisReconnectDelayMs(1, 2000, () => 0),
      50,
    );
    assert.equal(
      redisReconnectDelayMs(3, 2000, () => 0),
      200,
    );
    assert.equal(
      redisReconnectDelayMs(3, 2000, () => 0.999),
      299,
    );
  });

  void it('caps the delay and keeps answering a number, so reconnecting never stops', () => {
    assert.equal(
      redisReconnectDelayMs(10_000, 2000, () => 0),
      2000,
    );
  });
});
