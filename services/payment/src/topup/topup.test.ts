import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  canSeeTopup,
  checkTopupRequest,
  failureReasonText,
  refusalFailure,
  settlementAccountOf,
  topupChargeId,
  topupTransferId,
  type TopupRequest,
} from './topup.js';

const request = (overrides: Partial<TopupRequest> = {}): TopupRequest => ({
  idempotencyKey: 'key-1',
  callerId: 'usr_1',
  userId: 'usr_1',
  amount: '5000',
  currency: 'JPY',
  bankAccountId: 'ba_1',
  cardId: undefined,
  clientIp: '203.0.113.7',
  trace: null,
  ...overrides,
});

void describe('checkTopupRequest', () => {
  void it('accepts a bank or card top-up and keeps what defines it in the request hash', () => {
    const bank = checkTopupRequest(request());
    assert.deepEqual(bank.source, { kind: 'bank_account', bankAccountId: 'ba_1' });
    assert.equal(bank.amount, 5_000);
    const card = checkTopupRequest(request({ bankAccountId: undefined, cardId: 'card_1' }));
    assert.deepEqual(card.source, { kind: 'card', cardId: 'card_1' });
    assert.notEqual(bank.requestHash, card.requestHash);
    assert.notEqual(bank.requestHash, checkTopupRequest(request({ amount: '5001' })).requestHash);
    assert.equal(bank.requestHash, checkTopupRequest(request({ clientIp: '198.51.100.1' })).requestHash);
  });

  void it("refuses another user's wallet, a missing source, currency and amount", () => {
    assert.throws(() => checkTopupRequest(request({ callerId: 'usr_2' })), { code: 'not_found' });
    assert.throws(() => checkTopupRequest(request({ bankAccountId: undefined })), {
      code: 'invalid_request',
    });
    assert.throws(() => checkTopupRequest(request({ bankAccountId: '' })), { code: 'invalid_request' });
    assert.throws(() => checkTopupRequest(request({ currency: 'EUR' })), { code: 'unsupported_currency' });
    assert.throws(() => checkTopupRequest(request({ amount: '10000001' })), { code: 'amount_out_of_range' });
    assert.throws(() => checkTopupRequest(request({ idempotencyKey: '' })), { code: 'invalid_request' });
  });
});

void describe('top-up rules', () => {
  void it('derives the charge and transfer ids from the top-up id', () => {
    assert.equal(topupChargeId('top_1'), 'topup_top_1');
    assert.equal(topupTransferId('top_1'), 'topup_top_1');
  });

  void it('takes bank money through bank-settlement and card money through card-settlement', () => {
    assert.equal(settlementAccountOf({ kind: 'bank_account', bankAccountId: 'ba' }), 'bank-settlement');
    assert.equal(settlementAccountOf({ kind: 'card', cardId: 'c' }), 'card-settlement');
  });

  void it('fails a re-sent charge for lockouts and card refusals, and asks again after a throttle', () => {
    const card = { kind: 'card' as const, cardId: 'c' };
    const bank = { kind: 'bank_account' as const, bankAccountId: 'b' };
    assert.equal(refusalFailure('rate_limited', card), undefined);
    assert.equal(refusalFailure('account_locked', card), 'ACCOUNT_LOCKED');
    assert.equal(refusalFailure('card_expired', card), 'CARD_EXPIRED');
    assert.equal(refusalFailure('invalid_cvc', card), 'CARD_DECLINED');
    assert.equal(refusalFailure('not_found', bank), 'BANK_DECLINED');
    assert.equal(failureReasonText('TIMED_OUT'), 'timed_out');
  });

  void it('shows a top-up to its user only', () => {
    assert.equal(canSeeTopup({ userId: 'usr_1' }, 'usr_1'), true);
    assert.equal(canSeeTopup({ userId: 'usr_1' }, 'usr_2'), false);
  });
});
