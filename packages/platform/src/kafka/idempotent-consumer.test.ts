import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDuplicateKeyError, nextOffset, readEventId, retryDelayMs } from './idempotent-consumer.js';

void describe('readEventId', () => {
  void it('reads the event-id header', () => {
    assert.deepEqual(readEventId({ 'event-id': Buffer.from('e-1') }), { eventId: 'e-1' });
  });

  void it('reports a message without an event id', () => {
    assert.deepEqual(readEventId({}), { problem: 'no event-id header' });
    assert.deepEqual(readEventId(undefined), { problem: 'no event-id header' });
  });

  void it('rejects an event id longer than the processed_events column', () => {
    assert.deepEqual(readEventId({ 'event-id': 'x'.repeat(64) }), { eventId: 'x'.repeat(64) });
    assert.deepEqual(readEventId({ 'event-id': 'x'.repeat(65) }), {
      problem: 'event-id longer than 64 characters',
    });
  });
});

void describe('retryDelayMs', () => {
  const backoff = { initialDelayMs: 100, maxDelayMs: 1000 };

  void it('doubles per failure up to the cap', () => {
    const top = () => 1;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 10].map((failures) => retryDelayMs(failures, backoff, top)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });

  void it('jitters down by at most a fifth', () => {
    assert.equal(
      retryDelayMs(1, backoff, () => 0),
      80,
    );
    assert.equal(
      retryDelayMs(10, backoff, () => 0),
      800,
    );
  });
});

void describe('isDuplicateKeyError', () => {
  void it('recognises the duplicate-key error of mysql2', () => {
    assert.equal(
      isDuplicateKeyError(Object.assign(new Error('dup'), { code: 'ER_DUP_ENTRY', errno: 1062 })),
      true,
    );
    assert.equal(isDuplicateKeyError({ errno: 1062 }), true);
  });

  void it('rejects anything else', () => {
    assert.equal(isDuplicateKeyError(Object.assign(new Error('deadlock'), { errno: 1213 })), false);
    assert.equal(isDuplicateKeyError(new Error('ER_DUP_ENTRY')), false);
    assert.equal(isDuplicateKeyError(undefined), false);
    assert.equal(isDuplicateKeyError('ER_DUP_ENTRY'), false);
  });
});

void describe('nextOffset', () => {
  void it('is the offset after the consumed one, exact beyond 2^53', () => {
    assert.equal(nextOffset('0'), '1');
    assert.equal(nextOffset('9007199254740993'), '9007199254740994');
  });
});
