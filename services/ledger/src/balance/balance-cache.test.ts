import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createDependencyPolicy,
  createLogger,
  dependencyPresets,
  failureKind,
  presetOptions,
  type DependencyPolicy,
} from '@koban/platform';
import {
  balanceCacheKey,
  createBalanceCache,
  fromCachedBalance,
  parseCachedBalance,
  toCachedBalance,
  type BalanceCacheDeps,
} from './balance-cache.js';

const balance = {
  accountId: 'acc_1',
  currency: 'JPY',
  available: 9_007_199_254_740_993n,
  version: 12n,
  asOf: new Date('2030-01-02T03:04:05.678Z'),
  stale: false,
};

describe('the balance cache format', () => {
  it('keys by account id', () => {
    assert.equal(balanceCacheKey('acc_1'), 'ledger:balance:acc_1');
  });

  it('stores exact decimal strings and an ISO time, and reads them back as stale', () => {
    const cached = toCachedBalance(balance);
    assert.deepEqual(cached, {
      accountId: 'acc_1',
      currency: 'JPY',
      available: '9007199254740993',
      version: '12',
      asOf: '2030-01-02T03:04:05.678Z',
    });
    assert.deepEqual(parseCachedBalance(JSON.stringify(cached)), cached);
    assert.deepEqual(fromCachedBalance(cached), { ...balance, stale: true });
  });

  it('treats malformed values as absent', () => {
    for (const value of [
      null,
      '',
      'nope',
      '{}',
      JSON.stringify({ ...toCachedBalance(balance), available: 1.5 }),
    ]) {
      assert.equal(parseCachedBalance(value), undefined);
    }
  });
});

describe('createBalanceCache', () => {
  const silent = createLogger({ service: 'test', level: 'silent' });

  function redisPolicy(consecutiveFailures = 5): DependencyPolicy {
    return createDependencyPolicy(
      presetOptions(dependencyPresets.redis, 'ledger-balance-cache-test', {
        breaker: { consecutiveFailures },
      }),
      { logger: silent },
    );
  }

  function failingRedis(calls = { pipeline: 0, mget: 0 }): BalanceCacheDeps['redis'] {
    return {
      pipeline: () => {
        calls.pipeline += 1;
        throw new Error('Stream isn\u2019t writeable');
      },
      mget: () => {
        calls.mget += 1;
        return Promise.reject(new Error('down'));
      },
    };
  }

  it('never rejects a write, and warns once per burst of failures', async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = createLogger({
      service: 'test',
      level: 'info',
      destination: {
        write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }),
      },
    });
    const policy = redisPolicy();
    const cache = createBalanceCache({ redis: failingRedis(), policy, logger, ttlSeconds: 60 });
    try {
      await cache.write([balance]);
      await cache.write([balance]);
      await cache.write([balance]);
      assert.deepEqual(
        lines.map((line) => line.msg),
        ['balance cache write failed; carrying on without it'],
      );
    } finally {
      policy.dispose();
    }
  });

  it('leaves Redis alone once the ledger→redis breaker is open: writes are skipped, reads refused', async () => {
    const calls = { pipeline: 0, mget: 0 };
    const policy = redisPolicy(2);
    const cache = createBalanceCache({ redis: failingRedis(calls), policy, logger: silent, ttlSeconds: 60 });
    try {
      await cache.write([balance]);
      await cache.write([balance]);
      assert.equal(policy.snapshot().state, 'open');

      await cache.write([balance]);
      await assert.rejects(cache.read(['acc_1']), (err) => failureKind(err) === 'open');
      assert.deepEqual(calls, { pipeline: 2, mget: 0 });
    } finally {
      policy.dispose();
    }
  });
});
