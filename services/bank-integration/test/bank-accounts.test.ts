import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newUserId, startHarness, type Harness } from './support/bank-harness.js';

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;

void describe('linked bank accounts', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  void it('links any 4-digit bank code with a 7-digit number and answers the last four digits only', async () => {
    const userId = newUserId();
    const { bankAccount } = await h.client.linkBankAccount({
      userId,
      bankCode: '0005',
      accountNumber: '1234567',
    });
    assert.ok(bankAccount);
    assert.match(bankAccount.bankAccountId, /^ba_[0-9a-f]{24}$/);
    assert.equal(bankAccount.userId, userId);
    assert.equal(bankAccount.bankCode, '0005');
    assert.equal(bankAccount.accountNumberLast4, '4567');
    assert.ok(bankAccount.createdAt);
    assert.equal(JSON.stringify(bankAccount).includes('1234567'), false);

    const { bankAccount: again } = await h.client.getBankAccount({
      bankAccountId: bankAccount.bankAccountId,
    });
    assert.deepEqual(again, bankAccount);
  });

  void it('answers the account already linked when the same user links it again', async () => {
    const userId = newUserId();
    const link = { userId, bankCode: '0010', accountNumber: '7654321' };
    const first = await h.client.linkBankAccount(link);
    const second = await h.client.linkBankAccount(link);
    assert.equal(second.bankAccount?.bankAccountId, first.bankAccount?.bankAccountId);
    const rows = await h.rows('SELECT COUNT(*) AS n FROM bank_accounts WHERE user_id = ?', [userId]);
    assert.equal(Number(rows[0]?.['n']), 1);
  });

  void it('lists a user’s accounts newest first, and nobody else’s', async () => {
    const userId = newUserId();
    const older = await h.client.linkBankAccount({ userId, bankCode: '0001', accountNumber: '1111111' });
    h.clock.offsetMs += 1_000;
    const newer = await h.client.linkBankAccount({ userId, bankCode: '0999', accountNumber: '2222222' });
    await h.client.linkBankAccount({ userId: newUserId(), bankCode: '0001', accountNumber: '3333333' });
    const { bankAccounts } = await h.client.listBankAccounts({ userId });
    assert.deepEqual(
      bankAccounts.map((account) => account.bankAccountId),
      [newer.bankAccount?.bankAccountId, older.bankAccount?.bankAccountId],
    );
  });

  void it('refuses malformed bank codes and account numbers with invalid_bank_account, storing nothing', async () => {
    const userId = newUserId();
    for (const [bankCode, accountNumber] of [
      ['123', '1234567'],
      ['12345', '1234567'],
      ['0001', '123456'],
      ['0001', '12345678'],
      ['00a1', '1234567'],
    ] as const) {
      await assert.rejects(
        h.client.linkBankAccount({ userId, bankCode, accountNumber }),
        { code: 'invalid_bank_account', status: INVALID_ARGUMENT },
        `${bankCode}/${accountNumber}`,
      );
    }
    assert.equal((await h.rows('SELECT 1 FROM bank_accounts WHERE user_id = ?', [userId])).length, 0);
  });

  void it('answers not_found for an unknown account and invalid_request without a user', async () => {
    await assert.rejects(h.client.getBankAccount({ bankAccountId: 'ba_nope' }), {
      code: 'not_found',
      status: NOT_FOUND,
    });
    await assert.rejects(
      h.client.linkBankAccount({ userId: '', bankCode: '0001', accountNumber: '1234567' }),
      {
        code: 'invalid_request',
        status: INVALID_ARGUMENT,
      },
    );
  });
});
