import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canSeeRefund, checkRefundRequest, refundAmount, refundTransferId } from './refund.js';

void describe('refundAmount', () => {
  const payment = { status: 'COMPLETED', amount: 1000, reservedAmount: 300 };

  void it('refunds what is asked while it fits, and all that is left for no amount', () => {
    assert.equal(refundAmount(payment, 700), 700);
    assert.equal(refundAmount(payment, undefined), 700);
  });

  void it('refuses more than is left, with what is refundable', () => {
    assert.throws(() => refundAmount(payment, 701), {
      code: 'refund_exceeds_payment',
      details: { refundable: 700 },
    });
    assert.throws(() => refundAmount({ ...payment, reservedAmount: 1000 }, undefined), {
      details: { refundable: 0 },
    });
  });

  void it('refunds nothing of a payment that did not complete', () => {
    assert.throws(() => refundAmount({ ...payment, status: 'DECLINED', reservedAmount: 0 }, 1), {
      details: { refundable: 0 },
    });
  });
});

void describe('checkRefundRequest', () => {
  const request = { idempotencyKey: 'k', callerId: 'mch_1', paymentId: 'pmt_1', amount: '0', trace: null };

  void it('reads amount 0 as all that is left', () => {
    assert.equal(checkRefundRequest(request).amount, undefined);
    assert.equal(checkRefundRequest({ ...request, amount: '250' }).amount, 250);
  });

  void it('refuses a negative or oversized amount and a missing payment id', () => {
    assert.throws(() => checkRefundRequest({ ...request, amount: '-1' }), { code: 'amount_out_of_range' });
    assert.throws(() => checkRefundRequest({ ...request, amount: '10000001' }), {
      code: 'amount_out_of_range',
    });
    assert.throws(() => checkRefundRequest({ ...request, paymentId: '' }), { code: 'invalid_request' });
  });
});

void describe('refund rules', () => {
  void it('derives the ledger transfer id and shows a refund to payee and payer', () => {
    assert.equal(refundTransferId('rfd_1'), 'refund_rfd_1');
    const refund = { merchantId: 'mch_1', payerUserId: 'usr_1' };
    assert.equal(canSeeRefund(refund, 'mch_1'), true);
    assert.equal(canSeeRefund(refund, 'usr_1'), true);
    assert.equal(canSeeRefund(refund, 'mch_2'), false);
  });
});
