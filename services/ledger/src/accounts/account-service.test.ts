import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseUnavailableError, createLogger } from '@koban/platform';
import type { BalanceCache, CachedBalance } from '../balance/balance-cache.js';
import type { AccountStore } from './account-store.js';
import { createAccountService } from './account-service.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const unreachable = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

function storeFailingWith(error: Error): AccountStore {
  const fail = () => Promise.reject(error);
  return { findById: fail, findByKey: fail, findByLookup: fail, insert: fail, balances: fail };
}

function cacheHolding(entries: CachedBalance[]): BalanceCache {
  return {
    write: () => Promise.resolve(),
    read: (ids) => Promise.resolve(ids.map((id) => entries.find((entry) => entry.accountId === id))),
  };
}

const cachedAlice: CachedBalance = {
  accountId: 'acc_alice',
  currency: 'JPY',
  available: '700',
  version: '3',
  asOf: '2030-01-01T00:00:00.000Z',
};

describe('balances while the database is unreachable', () => {
  it('answers the cached figures marked stale, as of when they were true', async () => {
    const service = createAccountService({
      store: storeFailingWith(unreachable),
      balanceCache: cacheHolding([cachedAlice]),
      logger,
    });
    assert.deepEqual(await service.getBalance('acc_alice'), {
      accountId: 'acc_alice',
      currency: 'JPY',
      available: 700n,
      version: 3n,
      asOf: new Date('2030-01-01T00:00:00.000Z'),
      stale: true,
    });
  });

  it('answers from the cache at once while the ledger→tidb breaker is open', async () => {
    const service = createAccountService({
      store: storeFailingWith(new DatabaseUnavailableError('DB_BREAKER_OPEN', { cause: new Error('open') })),
      balanceCache: cacheHolding([cachedAlice]),
      logger,
    });
    assert.equal((await service.getBalance('acc_alice')).stale, true);
  });

  it('rethrows the database failure when any account is missing from the cache', async () => {
    const service = createAccountService({
      store: storeFailingWith(unreachable),
      balanceCache: cacheHolding([cachedAlice]),
      logger,
    });
    await assert.rejects(service.getBalances(['acc_alice', 'acc_bob']), unreachable);
  });

  it('never hides a failure that is not the database being unreachable', async () => {
    const bug = new Error('Unknown column');
    const service = createAccountService({
      store: storeFailingWith(bug),
      balanceCache: cacheHolding([cachedAlice]),
      logger,
    });
    await assert.rejects(service.getBalance('acc_alice'), bug);
  });
});
