import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLinkCommand } from './bank-account.js';

void describe('bank account links', () => {
  void it('accept any 4-digit bank code with a 7-digit account number', () => {
    const command = { userId: 'u1', bankCode: '0001', accountNumber: '1234567' };
    assert.deepEqual(checkLinkCommand(command), command);
    assert.deepEqual(checkLinkCommand({ ...command, bankCode: '0999' }).bankCode, '0999');
  });

  void it('refuse other codes and numbers with invalid_bank_account naming the fields', () => {
    for (const [bankCode, accountNumber] of [
      ['001', '1234567'],
      ['00011', '1234567'],
      ['00a1', '1234567'],
      ['0001', '123456'],
      ['0001', '12345678'],
      ['0001', '123 4567'],
    ] as const) {
      assert.throws(
        () => checkLinkCommand({ userId: 'u1', bankCode, accountNumber }),
        { code: 'invalid_bank_account' },
        `${bankCode}/${accountNumber}`,
      );
    }
    assert.throws(() => checkLinkCommand({ userId: 'u1', bankCode: 'x', accountNumber: 'y' }), {
      details: { fields: { bankCode: 'must be 4 digits', accountNumber: 'must be 7 digits' } },
    });
  });

  void it('require a user', () => {
    assert.throws(() => checkLinkCommand({ userId: '', bankCode: '0001', accountNumber: '1234567' }), {
      code: 'invalid_request',
    });
  });
});
