import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromTimestamp, timestampToMillis, toTimestamp } from './timestamp.js';

describe('timestamps', () => {
  it('converts epoch milliseconds to seconds and nanos and back', () => {
    const ms = Date.parse('2030-01-02T03:04:05.678Z');
    const timestamp = toTimestamp(ms);
    assert.deepEqual(timestamp, { seconds: String(Math.floor(ms / 1000)), nanos: 678_000_000 });
    assert.equal(timestampToMillis(timestamp), ms);
    assert.equal(fromTimestamp(timestamp)?.toISOString(), '2030-01-02T03:04:05.678Z');
  });

  it('handles times before 1970 with non-negative nanos', () => {
    const timestamp = toTimestamp(new Date(-1));
    assert.deepEqual(timestamp, { seconds: '-1', nanos: 999_000_000 });
    assert.equal(timestampToMillis(timestamp), -1);
  });

  it('reads an unset timestamp as undefined', () => {
    assert.equal(fromTimestamp(null), undefined);
    assert.equal(fromTimestamp(undefined), undefined);
  });
});
