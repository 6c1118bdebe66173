import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findInvariantViolations, type AccountTotals, type LedgerTotals } from './invariants.js';

function account(overrides: Partial<AccountTotals> & { accountId: string }): AccountTotals {
  return {
    currency: 'JPY',
    overdraftAllowed: false,
    balance: 0n,
    version: 0n,
    entrySum: 0n,
    entryCount: 0n,
    lastBalanceAfter: undefined,
    ...overrides,
  };
}

function sound(): LedgerTotals {
  return {
    debits: 500n,
    credits: 500n,
    accounts: [
      account({
        accountId: 'acc_sys',
        overdraftAllowed: true,
        balance: -500n,
        version: 1n,
        entrySum: -500n,
        entryCount: 1n,
        lastBalanceAfter: -500n,
      }),
      account({
        accountId: 'acc_a',
        balance: 500n,
        version: 1n,
        entrySum: 500n,
        entryCount: 1n,
        lastBalanceAfter: 500n,
      }),
      account({ accountId: 'acc_new' }),
    ],
    irregularPostings: [],
    incompleteTransfers: [],
  };
}

describe('findInvariantViolations', () => {
  it('finds nothing in a sound ledger', () => {
    assert.deepEqual(findInvariantViolations(sound()), []);
  });

  it('reports debits that differ from credits', () => {
    const [violation] = findInvariantViolations({ ...sound(), credits: 499n });
    assert.equal(violation?.invariant, 'debits_equal_credits');
  });

  it('reports a balance that is not the sum of its entries, and money that appeared from nowhere', () => {
    const totals = sound();
    totals.accounts[1] = { ...totals.accounts[1], balance: 600n, lastBalanceAfter: 600n };
    assert.deepEqual(
      findInvariantViolations(totals).map((v) => v.invariant),
      ['balance_is_sum_of_entries', 'currency_sums_to_zero'],
    );
  });

  it('reports a version that is not the entry count and a stale balance_after', () => {
    const totals = sound();
    totals.accounts[1] = { ...totals.accounts[1], version: 2n, lastBalanceAfter: 400n };
    assert.deepEqual(
      findInvariantViolations(totals).map((v) => v.invariant),
      ['version_is_entry_count', 'balance_is_last_balance_after'],
    );
  });

  it('reports a negative balance only on accounts that may not overdraft', () => {
    const totals: LedgerTotals = {
      ...sound(),
      accounts: [
        account({
          accountId: 'acc_a',
          balance: -1n,
          version: 1n,
          entrySum: -1n,
          entryCount: 1n,
          lastBalanceAfter: -1n,
        }),
        account({
          accountId: 'acc_b',
          balance: 1n,
          version: 1n,
          entrySum: 1n,
          entryCount: 1n,
          lastBalanceAfter: 1n,
        }),
      ],
    };
    assert.deepEqual(
      findInvariantViolations(totals).map((v) => v.invariant),
      ['no_overdraft'],
    );
  });

  it('reports irregular postings and transfers missing postings', () => {
    const violations = findInvariantViolations({
      ...sound(),
      irregularPostings: [{ transferId: 'trf_1', postingIndex: 0, legs: 1, debitLegs: 1, net: -5n }],
      incompleteTransfers: [{ transferId: 'trf_2', postingCount: 2, postingsWithEntries: 1 }],
    });
    assert.deepEqual(
      violations.map((v) => v.invariant),
      ['posting_is_one_debit_and_one_credit', 'transfer_has_all_postings'],
    );
  });
});
