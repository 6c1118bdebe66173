import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toTimestamp } from '@koban/platform';
import type { Payment, Transfer } from '../downstream-clients.js';
import { ApiError } from '../http/api-error.js';
import { paymentBody, paymentOutcome, paymentView, transferOutcome } from './payment.js';

function payment(overrides: Partial<Payment> = {}): Payment {
  return {
    paymentId: 'pay_1',
    status: 'PAYMENT_STATUS_COMPLETED',
    payerUserId: 'usr_1',
    merchantId: 'mch_1',
    amount: '1500',
    currency: 'JPY',
    method: 'PAYMENT_METHOD_WALLET',
    cardId: '',
    declineReason: 'DECLINE_REASON_UNSPECIFIED',
    cashback: { status: 'CASHBACK_STATUS_GRANTED', points: '15', campaignId: 'cmp_1' },
    refundedAmount: '0',
    qrCodeId: '',
    createdAt: toTimestamp(Date.UTC(2030, 0, 1)),
    finishedAt: null,
    ...overrides,
  };
}

function declined(reason: Payment['declineReason']): ApiError {
  try {
    paymentOutcome(payment({ status: 'PAYMENT_STATUS_DECLINED', declineReason: reason }), false);
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail('a decline is an error answer');
}

describe('paymentView', () => {
  it('answers API.md’s shape with the proto enums as plain words and int64 as numbers', () => {
    const view = paymentView(payment());
    assert.deepEqual(
      {
        paymentId: view.paymentId,
        status: view.status,
        amount: view.amount,
        currency: view.currency,
        merchantId: view.merchantId,
        cashback: view.cashback,
      },
      {
        paymentId: 'pay_1',
        status: 'COMPLETED',
        amount: 1500,
        currency: 'JPY',
        merchantId: 'mch_1',
        cashback: { status: 'GRANTED', points: 15 },
      },
    );
    assert.equal(view.createdAt, '2030-01-01T00:00:00.000Z');
  });

  it('answers cashback NONE when payment sent none', () => {
    assert.deepEqual(paymentView(payment({ cashback: null })).cashback, { status: 'NONE', points: 0 });
  });
});

describe('paymentOutcome', () => {
  it('answers 201 for a completed payment, marked when replayed', () => {
    assert.equal(paymentOutcome(payment(), false).status, 201);
    assert.deepEqual(paymentOutcome(payment(), false).headers, {});
    assert.deepEqual(paymentOutcome(payment(), true).headers, { 'idempotent-replayed': 'true' });
  });

  it('answers 202 while pending', () => {
    assert.equal(paymentOutcome(payment({ status: 'PAYMENT_STATUS_PENDING' }), false).status, 202);
  });

  it('answers each decline reason with its code and details.reason', () => {
    const cases: Array<[Payment['declineReason'], number, string, string | undefined]> = [
      ['DECLINE_REASON_INSUFFICIENT_FUNDS', 402, 'insufficient_funds', 'insufficient_funds'],
      ['DECLINE_REASON_RISK', 402, 'payment_declined', 'risk'],
      ['DECLINE_REASON_CARD_DECLINED', 402, 'payment_declined', 'card_declined'],
      ['DECLINE_REASON_ACCOUNT_LOCKED', 423, 'account_locked', 'account_locked'],
      ['DECLINE_REASON_UNSPECIFIED', 402, 'payment_declined', undefined],
    ];
    for (const [reason, status, code, detail] of cases) {
      const error = declined(reason);
      assert.deepEqual(
        [error.statusCode, error.code, error.details?.['reason']],
        [status, code, detail],
        reason,
      );
      assert.equal(error.details?.['paymentId'], 'pay_1');
    }
  });

  it('answers an abandoned (FAILED) payment as a final 402 with reason failed, and marks replayed declines', () => {
    try {
      paymentOutcome(payment({ status: 'PAYMENT_STATUS_FAILED' }), true);
      assert.fail('expected an error answer');
    } catch (error) {
      assert.ok(error instanceof ApiError);
      assert.deepEqual([error.statusCode, error.details?.['reason']], [402, 'failed']);
      assert.deepEqual(error.headers, { 'idempotent-replayed': 'true' });
    }
  });
});

describe('transferOutcome', () => {
  it('answers a transfer declined for funds as 402 insufficient_funds', () => {
    const transfer: Transfer = {
      transferId: 'trf_1',
      status: 'TRANSFER_STATUS_DECLINED',
      fromUserId: 'usr_1',
      toUserId: 'usr_2',
      amount: '100',
      currency: 'JPY',
      message: '',
      declineReason: 'DECLINE_REASON_INSUFFICIENT_FUNDS',
      createdAt: null,
      finishedAt: null,
    };
    assert.throws(() => transferOutcome(transfer, false), { statusCode: 402, code: 'insufficient_funds' });
    assert.equal(transferOutcome({ ...transfer, status: 'TRANSFER_STATUS_COMPLETED' }, false).status, 201);
  });
});

describe('paymentBody', () => {
  it('takes a QR payload, or a merchant id with amount and currency', () => {
    assert.equal(paymentBody.safeParse({ userId: 'u', qrPayload: 'q' }).success, true);
    assert.equal(
      paymentBody.safeParse({ userId: 'u', merchantId: 'm', amount: 1, currency: 'JPY' }).success,
      true,
    );
  });

  it('names what is missing or contradictory', () => {
    const problems = (body: unknown) =>
      paymentBody
        .safeParse(body)
        .error?.issues.map((issue) => issue.path.join('.'))
        .sort() ?? [];
    assert.deepEqual(problems({ userId: 'u' }), ['qrPayload']);
    assert.deepEqual(problems({ userId: 'u', merchantId: 'm' }), ['amount', 'currency']);
    assert.deepEqual(problems({ userId: 'u', qrPayload: 'q', merchantId: 'm', amount: 1, currency: 'JPY' }), [
      'merchantId',
    ]);
    assert.deepEqual(problems({ userId: 'u', qrPayload: 'q', method: 'card' }), ['cardId']);
    assert.deepEqual(problems({ userId: 'u', qrPayload: 'q', method: 'cash' }), ['method']);
  });
});
