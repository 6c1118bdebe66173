import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkChargeCommand,
  checkRefundCommand,
  isSameCharge,
  refundable,
  type Charge,
  type RawChargeCommand,
} from './charge.js';

const raw: RawChargeCommand = {
  chargeId: 'topup-1',
  userId: 'u1',
  amount: '1500',
  currency: 'JPY',
  source: { kind: 'bank_account', bankAccountId: 'ba_1' },
  purpose: 'TOPUP',
  clientIp: '',
};

const charge = (overrides: Partial<Charge> = {}): Charge => ({
  ...checkChargeCommand(raw),
  status: 'APPROVED',
  declineReason: null,
  authorizationCode: 'A1',
  refundedAmount: 0,
  createdAt: new Date(),
  finishedAt: new Date(),
  ...overrides,
});

void describe('charge requests', () => {
  void it('accept a JPY amount from 1 to 10,000,000 from one source', () => {
    assert.equal(checkChargeCommand(raw).amount, 1500);
    assert.equal(checkChargeCommand({ ...raw, amount: '10000000' }).amount, 10_000_000);
    assert.equal(checkChargeCommand({ ...raw, amount: '1' }).amount, 1);
  });

  void it('refuse amounts out of range, other currencies and missing fields', () => {
    assert.throws(() => checkChargeCommand({ ...raw, amount: '0' }), { code: 'amount_out_of_range' });
    assert.throws(() => checkChargeCommand({ ...raw, amount: '10000001' }), { code: 'amount_out_of_range' });
    assert.throws(() => checkChargeCommand({ ...raw, currency: 'USD' }), { code: 'unsupported_currency' });
    assert.throws(() => checkChargeCommand({ ...raw, source: undefined }), {
      code: 'invalid_request',
      details: { fields: { source: 'a bank account id or a card id is required' } },
    });
    assert.throws(() => checkChargeCommand({ ...raw, purpose: undefined, chargeId: '' }), {
      details: { fields: { chargeId: 'required', purpose: 'TOPUP or PAYMENT' } },
    });
    assert.throws(() => checkChargeCommand({ ...raw, chargeId: 'x'.repeat(129) }), {
      code: 'invalid_request',
    });
  });

  void it('tell a repeat of the same charge from a reused charge id', () => {
    const stored = charge();
    assert.equal(isSameCharge(stored, checkChargeCommand(raw)), true);
    assert.equal(isSameCharge(stored, checkChargeCommand({ ...raw, amount: '1501' })), false);
    assert.equal(isSameCharge(stored, checkChargeCommand({ ...raw, userId: 'u2' })), false);
    assert.equal(isSameCharge(stored, checkChargeCommand({ ...raw, purpose: 'PAYMENT' })), false);
    assert.equal(
      isSameCharge(stored, checkChargeCommand({ ...raw, source: { kind: 'card', cardId: 'ba_1' } })),
      false,
    );
  });
});

void describe('refunds', () => {
  void it('leave what an approved charge has not refunded yet, and nothing of another charge', () => {
    assert.equal(refundable(charge({ refundedAmount: 500 })), 1000);
    assert.equal(refundable(charge({ status: 'DECLINED' })), 0);
    assert.equal(refundable(charge({ status: 'PENDING' })), 0);
  });

  void it('require ids and a positive amount', () => {
    assert.deepEqual(checkRefundCommand({ refundId: 'r1', chargeId: 'c1', amount: '10' }), {
      refundId: 'r1',
      chargeId: 'c1',
      amount: 10,
    });
    assert.throws(() => checkRefundCommand({ refundId: '', chargeId: 'c1', amount: '10' }), {
      code: 'invalid_request',
    });
    assert.throws(() => checkRefundCommand({ refundId: 'r1', chargeId: 'c1', amount: '0' }), {
      code: 'amount_out_of_range',
    });
  });
});
