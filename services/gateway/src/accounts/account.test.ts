import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toTimestamp } from '@koban/platform';
import type { LedgerEntry } from '../downstream-clients.js';
import { balanceFigure, transactionItem, transactionsQuery, userBalanceView } from './account.js';

const at = (iso: string) => toTimestamp(Date.parse(iso));

describe('userBalanceView', () => {
  it('answers the wallet and the points as numbers, as of the older of the two figures', () => {
    const wallet = balanceFigure({
      accountId: 'w',
      currency: 'JPY',
      available: '8500',
      asOf: at('2030-01-01T00:00:02Z'),
      stale: false,
      version: '3',
    });
    const points = balanceFigure({
      accountId: 'p',
      currency: 'POINTS',
      available: '15',
      asOf: at('2030-01-01T00:00:01Z'),
      stale: false,
      version: '1',
    });
    assert.deepEqual(userBalanceView(wallet, points, false), {
      currency: 'JPY',
      available: 8500,
      points: 15,
      asOf: '2030-01-01T00:00:01.000Z',
      stale: false,
    });
    assert.equal(userBalanceView(wallet, points, true).stale, true);
    assert.equal(userBalanceView({ ...wallet, stale: true }, points, false).stale, true);
  });
});

describe('transactionItem', () => {
  it('shows a debit as a negative amount with its direction, kind and reference', () => {
    const entry: LedgerEntry = {
      entryId: 'ent_1',
      transferId: 'pay_1',
      accountId: 'w',
      counterpartyAccountId: 'm',
      amount: '-1500',
      currency: 'JPY',
      balanceAfter: '8500',
      kind: 'TRANSFER_KIND_PAYMENT',
      referenceId: 'pay_1',
      description: 'Koban Coffee',
      createdAt: at('2030-01-01T00:00:00Z'),
    };
    assert.deepEqual(transactionItem(entry), {
      id: 'ent_1',
      type: 'PAYMENT',
      direction: 'DEBIT',
      amount: -1500,
      currency: 'JPY',
      balanceAfter: 8500,
      description: 'Koban Coffee',
      referenceId: 'pay_1',
      transferId: 'pay_1',
      createdAt: '2030-01-01T00:00:00.000Z',
    });
    assert.equal(
      transactionItem({ ...entry, amount: '200', kind: 'TRANSFER_KIND_PEER' }).direction,
      'CREDIT',
    );
    assert.equal(transactionItem({ ...entry, kind: 'TRANSFER_KIND_PEER' }).type, 'TRANSFER');
  });
});

describe('transactionsQuery', () => {
  it('defaults to 20 and accepts 1 to 100', () => {
    assert.deepEqual(transactionsQuery.parse({}), { limit: 20 });
    assert.deepEqual(transactionsQuery.parse({ limit: '100', cursor: 'c' }), { limit: 100, cursor: 'c' });
    for (const limit of ['0', '101', 'x', '2.5'])
      assert.equal(transactionsQuery.safeParse({ limit }).success, false);
  });
});
