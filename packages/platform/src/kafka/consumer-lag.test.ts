import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consumerLag, type PartitionWatermarks } from './consumer-lag.js';

const payments: PartitionWatermarks[] = [
  { partition: 0, high: '120', low: '0' },
  { partition: 1, high: '80', low: '10' },
];
const watermarks = new Map([['payments.v1', payments]]);

test('lag is the end offset minus the committed offset, per group and partition', () => {
  const lags = consumerLag(watermarks, [
    {
      groupId: 'fraud-features',
      topic: 'payments.v1',
      partitions: [
        { partition: 0, offset: '120' },
        { partition: 1, offset: '75' },
      ],
    },
    {
      groupId: 'campaign-promo.cashback-retry',
      topic: 'payments.v1',
      partitions: [
        { partition: 0, offset: '100' },
        { partition: 1, offset: '80' },
      ],
    },
  ]);
  assert.deepEqual(lags, [
    { group: 'campaign-promo.cashback-retry', topic: 'payments.v1', partition: 0, lag: 20 },
    { group: 'campaign-promo.cashback-retry', topic: 'payments.v1', partition: 1, lag: 0 },
    { group: 'fraud-features', topic: 'payments.v1', partition: 0, lag: 0 },
    { group: 'fraud-features', topic: 'payments.v1', partition: 1, lag: 5 },
  ]);
});

test('a partition the group never committed on counts every retained record', () => {
  const lags = consumerLag(watermarks, [
    {
      groupId: 'g',
      topic: 'payments.v1',
      partitions: [
        { partition: 0, offset: '120' },
        { partition: 1, offset: '-1' },
      ],
    },
  ]);
  assert.deepEqual(
    lags.map((l) => [l.partition, l.lag]),
    [
      [0, 0],
      [1, 70],
    ],
  );
});

test('a group that committed nothing on a topic does not consume it and is left out', () => {
  const lags = consumerLag(watermarks, [
    {
      groupId: 'other',
      topic: 'payments.v1',
      partitions: [
        { partition: 0, offset: '-1' },
        { partition: 1, offset: '-1' },
      ],
    },
  ]);
  assert.deepEqual(lags, []);
});

test('a topic without watermarks is skipped, and lag is never negative', () => {
  const lags = consumerLag(new Map([['t', [{ partition: 0, high: '5', low: '0' }]]]), [
    { groupId: 'g', topic: 'missing', partitions: [{ partition: 0, offset: '3' }] },
    { groupId: 'g', topic: 't', partitions: [{ partition: 0, offset: '9' }] },
  ]);
  assert.deepEqual(lags, [{ group: 'g', topic: 't', partition: 0, lag: 0 }]);
});

test('offsets beyond 2^53 are subtracted exactly', () => {
  const big = new Map([['t', [{ partition: 0, high: '9007199254741000', low: '0' }]]]);
  const lags = consumerLag(big, [
    { groupId: 'g', topic: 't', partitions: [{ partition: 0, offset: '9007199254740993' }] },
  ]);
  assert.equal(lags[0]?.lag, 7);
});
