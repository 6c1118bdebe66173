import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_POSTING_AMOUNT,
  applyPostings,
  balancesAfter,
  decodeEntryCursor,
  encodeEntryCursor,
  lockOrder,
  parseAmount,
  postingsFromEntries,
  replayOrReuse,
  transferFingerprint,
  validateEntryPage,
  validateTransfer,
  type LockedAccount,
  type TransferCommand,
  type TransferInput,
} from './transfer.js';

const input: TransferInput = {
  transferId: 'trf_1',
  kind: 'payment',
  referenceId: 'pay_1',
  postings: [{ fromAccountId: 'acc_b', toAccountId: 'acc_a', amount: '300', currency: 'JPY' }],
  description: 'Koban Coffee',
};

function command(overrides: Partial<TransferCommand> = {}): TransferCommand {
  const checked = validateTransfer(input);
  assert.ok(checked.ok);
  return { ...checked.value, ...overrides };
}

function locked(
  ...accounts: Array<Partial<LockedAccount> & { accountId: string }>
): Map<string, LockedAccount> {
  return new Map(
    accounts.map((account) => [
      account.accountId,
      { currency: 'JPY', overdraftAllowed: false, balance: 0n, version: 0n, ...account },
    ]),
  );
}

let nextId = 0;
const options = { now: new Date('2030-01-01T00:00:00Z'), newEntryId: () => `ent_${(nextId += 1)}` };

describe('parseAmount', () => {
  it('accepts whole numbers from 1 to the maximum', () => {
    assert.equal(parseAmount('1'), 1n);
    assert.equal(parseAmount(MAX_POSTING_AMOUNT.toString()), MAX_POSTING_AMOUNT);
  });

  it('refuses zero, negatives, the maximum plus one and non-numbers', () => {
    for (const amount of [
      '0',
      '-5',
      (MAX_POSTING_AMOUNT + 1n).toString(),
      '1.5',
      '',
      '1e3',
      '9223372036854775808',
    ]) {
      assert.equal(parseAmount(amount), undefined, amount);
    }
  });
});

describe('validateTransfer', () => {
  it('turns amounts into bigints', () => {
    assert.equal(command().postings[0]?.amount, 300n);
  });

  it('names every bad field', () => {
    const checked = validateTransfer({
      transferId: '',
      kind: undefined,
      referenceId: '',
      postings: [{ fromAccountId: 'acc_a', toAccountId: 'acc_a', amount: '0', currency: 'yen' }],
      description: '',
    });
    assert.ok(!checked.ok);
    assert.deepEqual(Object.keys((checked.error.details as { fields: object }).fields).sort(), [
      'kind',
      'postings[0].amount',
      'postings[0].currency',
      'postings[0].toAccountId',
      'transferId',
    ]);
  });

  it('needs at least one posting and at most 16', () => {
    assert.equal(validateTransfer({ ...input, postings: [] }).ok, false);
    const posting = input.postings[0];
    assert.equal(
      validateTransfer({ ...input, postings: Array.from({ length: 16 }, () => posting) }).ok,
      true,
    );
    assert.equal(
      validateTransfer({ ...input, postings: Array.from({ length: 17 }, () => posting) }).ok,
      false,
    );
  });
});

describe('transferFingerprint', () => {
  it('is the same for the same kind, reference and postings, whatever the description', () => {
    assert.equal(transferFingerprint(command()), transferFingerprint(command({ description: 'other' })));
  });

  it('differs when an amount, the order of postings, the reference or the kind differs', () => {
    const base = transferFingerprint(command());
    const posting = command().postings[0];
    assert.notEqual(base, transferFingerprint(command({ postings: [{ ...posting, amount: 301n }] })));
    assert.notEqual(base, transferFingerprint(command({ referenceId: 'pay_2' })));
    assert.notEqual(base, transferFingerprint(command({ kind: 'refund' })));
    const second = { ...posting, fromAccountId: 'acc_c' };
    assert.notEqual(
      transferFingerprint(command({ postings: [posting, second] })),
      transferFingerprint(command({ postings: [second, posting] })),
    );
  });
});

describe('replayOrReuse', () => {
  it('replays a matching fingerprint and refuses another with transfer_id_reused', () => {
    assert.deepEqual(replayOrReuse(command(), transferFingerprint(command())), { ok: true, value: 'replay' });
    const reused = replayOrReuse(command(), transferFingerprint(command({ referenceId: 'pay_2' })));
    assert.ok(!reused.ok);
    assert.equal(reused.error.code, 'transfer_id_reused');
    assert.deepEqual(reused.error.details, { transferId: 'trf_1' });
  });
});

describe('lockOrder', () => {
  it('is every touched account once, sorted by id', () => {
    const cmd = command({
      postings: [
        { fromAccountId: 'acc_c', toAccountId: 'acc_a', amount: 1n, currency: 'JPY' },
        { fromAccountId: 'acc_a', toAccountId: 'acc_b', amount: 1n, currency: 'JPY' },
      ],
    });
    assert.deepEqual(lockOrder(cmd.postings), ['acc_a', 'acc_b', 'acc_c']);
  });
});

describe('applyPostings', () => {
  it('debits and credits with balances and versions after each entry', () => {
    const applied = applyPostings(
      command(),
      locked(
        { accountId: 'acc_a', balance: 10n, version: 4n },
        { accountId: 'acc_b', balance: 500n, version: 7n },
      ),
      options,
    );
    assert.ok(applied.ok);
    const [debit, credit] = applied.value.entries;
    assert.deepEqual(
      [debit?.accountId, debit?.amount, debit?.balanceAfter, debit?.sequence, debit?.counterpartyAccountId],
      ['acc_b', -300n, 200n, 8n, 'acc_a'],
    );
    assert.deepEqual(
      [
        credit?.accountId,
        credit?.amount,
        credit?.balanceAfter,
        credit?.sequence,
        credit?.counterpartyAccountId,
      ],
      ['acc_a', 300n, 310n, 5n, 'acc_b'],
    );
    assert.deepEqual(
      applied.value.accounts.map((a) => [a.accountId, a.balance, a.version]),
      [
        ['acc_a', 310n, 5n],
        ['acc_b', 200n, 8n],
      ],
    );
    assert.deepEqual(
      applied.value.balances.map((b) => [b.accountId, b.available, b.version]),
      [
        ['acc_b', 200n, 8n],
        ['acc_a', 310n, 5n],
      ],
    );
  });

  it('refuses a debit below zero with the available balance, and leaves the input untouched', () => {
    const accounts = locked({ accountId: 'acc_a' }, { accountId: 'acc_b', balance: 299n, version: 1n });
    const applied = applyPostings(command(), accounts, options);
    assert.ok(!applied.ok);
    assert.equal(applied.error.code, 'insufficient_funds');
    assert.deepEqual(applied.error.details, { accountId: 'acc_b', available: '299', required: '300' });
    assert.equal(accounts.get('acc_b')?.balance, 299n);
  });

  it('lets an account that may overdraft go below zero', () => {
    const applied = applyPostings(
      command(),
      locked({ accountId: 'acc_a' }, { accountId: 'acc_b', overdraftAllowed: true }),
      options,
    );
    assert.ok(applied.ok);
    assert.equal(applied.value.accounts.find((a) => a.accountId === 'acc_b')?.balance, -300n);
  });

  it('applies postings in order, so an earlier credit can fund a later debit', () => {
    const cmd = command({
      postings: [
        { fromAccountId: 'acc_sys', toAccountId: 'acc_a', amount: 100n, currency: 'JPY' },
        { fromAccountId: 'acc_a', toAccountId: 'acc_b', amount: 100n, currency: 'JPY' },
      ],
    });
    const accounts = locked(
      { accountId: 'acc_sys', overdraftAllowed: true },
      { accountId: 'acc_a' },
      { accountId: 'acc_b' },
    );
    assert.ok(applyPostings(cmd, accounts, options).ok);
    const reversed = command({ postings: [...cmd.postings].reverse() });
    const refused = applyPostings(reversed, accounts, options);
    assert.equal(!refused.ok && refused.error.code, 'insufficient_funds');
  });

  it('is account_not_found for an account that was not locked', () => {
    const applied = applyPostings(command(), locked({ accountId: 'acc_b', balance: 1000n }), options);
    assert.ok(!applied.ok);
    assert.equal(applied.error.code, 'account_not_found');
    assert.deepEqual(applied.error.details, { accountId: 'acc_a' });
  });

  it('is currency_mismatch when an account is kept in another unit', () => {
    const applied = applyPostings(
      command(),
      locked({ accountId: 'acc_a', currency: 'POINTS' }, { accountId: 'acc_b', balance: 1000n }),
      options,
    );
    assert.equal(!applied.ok && applied.error.code, 'currency_mismatch');
  });

  it('refuses a credit that would overflow int64', () => {
    const applied = applyPostings(
      command(),
      locked({ accountId: 'acc_a', balance: 2n ** 63n - 100n }, { accountId: 'acc_b', balance: 1000n }),
      options,
    );
    assert.equal(!applied.ok && applied.error.code, 'invalid_request');
  });
});

describe('entries round trip', () => {
  it('rebuilds the postings and the balances after from the entries', () => {
    const cmd = command({
      postings: [
        { fromAccountId: 'acc_b', toAccountId: 'acc_a', amount: 300n, currency: 'JPY' },
        { fromAccountId: 'acc_b', toAccountId: 'acc_c', amount: 20n, currency: 'JPY' },
      ],
    });
    const applied = applyPostings(
      cmd,
      locked({ accountId: 'acc_a' }, { accountId: 'acc_b', balance: 1000n }, { accountId: 'acc_c' }),
      options,
    );
    assert.ok(applied.ok);
    const shuffled = [...applied.value.entries].reverse();
    assert.deepEqual(postingsFromEntries(shuffled), cmd.postings);
    assert.deepEqual(balancesAfter(cmd.postings, shuffled, options.now), applied.value.balances);
    assert.deepEqual(
      applied.value.balances.map((b) => [b.accountId, b.available, b.version]),
      [
        ['acc_b', 680n, 2n],
        ['acc_a', 300n, 1n],
        ['acc_c', 20n, 1n],
      ],
    );
  });
});

describe('entry cursors', () => {
  it('round-trips and belongs to one account', () => {
    const token = encodeEntryCursor({ accountId: 'acc_a', beforeSequence: 42n });
    assert.deepEqual(decodeEntryCursor(token, 'acc_a'), { accountId: 'acc_a', beforeSequence: 42n });
    assert.equal(decodeEntryCursor(token, 'acc_b'), undefined);
    assert.equal(decodeEntryCursor('not-a-token', 'acc_a'), undefined);
  });

  it('validates page sizes: 0 means 20, 1..100, else invalid_request', () => {
    const page = (pageSize: number) => validateEntryPage({ accountId: 'acc_a', pageSize, pageToken: '' });
    const defaulted = page(0);
    assert.ok(defaulted.ok);
    assert.equal(defaulted.value.pageSize, 20);
    assert.equal(page(100).ok, true);
    assert.equal(page(101).ok, false);
    assert.equal(page(-1).ok, false);
    assert.equal(validateEntryPage({ accountId: 'acc_a', pageSize: 5, pageToken: 'junk' }).ok, false);
  });
});
