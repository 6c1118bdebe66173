import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMerchantQr } from '../qr/emvco.js';
import {
  canSeePayment,
  cardDecline,
  checkPaymentRequest,
  finishPayment,
  noCashback,
  paymentTransferId,
  refusalDecline,
  type Payment,
  type PaymentRequest,
} from './payment.js';

const request = (overrides: Partial<PaymentRequest> = {}): PaymentRequest => ({
  idempotencyKey: 'key-1',
  callerId: 'usr_1',
  payerUserId: 'usr_1',
  qrPayload: undefined,
  merchantId: 'mch_1',
  amount: '1500',
  currency: 'JPY',
  method: 'WALLET',
  cardId: '',
  clientIp: '203.0.113.7',
  trace: null,
  ...overrides,
});

const qr = (amount?: number) =>
  encodeMerchantQr({
    initiation: amount === undefined ? 'static' : 'dynamic',
    merchantId: 'mch_1',
    mcc: '5812',
    currency: 'JPY',
    countryCode: 'JP',
    merchantName: 'Shop',
    merchantCity: 'Tokyo',
    amount,
    reference: amount === undefined ? undefined : 'qr_1',
  });

void describe('checkPaymentRequest', () => {
  void it('accepts a merchant payment and keeps what defines it in the request hash', () => {
    const command = checkPaymentRequest(request());
    assert.deepEqual(command.payee, { kind: 'merchant', merchantId: 'mch_1' });
    assert.equal(command.requestedAmount, 1500);
    assert.equal(command.requestHash, checkPaymentRequest(request({ clientIp: '198.51.100.1' })).requestHash);
    assert.notEqual(command.requestHash, checkPaymentRequest(request({ amount: '1501' })).requestHash);
  });

  void it('takes a card payment with its card id, in the request hash', () => {
    const card = checkPaymentRequest(request({ method: 'CARD', cardId: 'card_1' }));
    assert.equal(card.method, 'CARD');
    assert.equal(card.cardId, 'card_1');
    assert.equal(checkPaymentRequest(request()).cardId, null);
    assert.notEqual(
      card.requestHash,
      checkPaymentRequest(request({ method: 'CARD', cardId: 'card_2' })).requestHash,
    );
    assert.notEqual(card.requestHash, checkPaymentRequest(request()).requestHash);
  });

  void it('refuses a card payment without a card, a wallet one with a card, a missing key and a payee-less request as invalid_request', () => {
    assert.throws(() => checkPaymentRequest(request({ method: 'CARD' })), {
      code: 'invalid_request',
      details: { fields: { cardId: 'required when the method is CARD' } },
    });
    assert.throws(() => checkPaymentRequest(request({ cardId: 'card_1' })), { code: 'invalid_request' });
    assert.throws(() => checkPaymentRequest(request({ idempotencyKey: '' })), { code: 'invalid_request' });
    assert.throws(() => checkPaymentRequest(request({ merchantId: undefined })), { code: 'invalid_request' });
  });

  void it('answers not_found when the caller is not the payer', () => {
    assert.throws(() => checkPaymentRequest(request({ callerId: 'usr_2' })), { code: 'not_found' });
  });

  void it('checks currency then amount for a merchant payment', () => {
    assert.throws(() => checkPaymentRequest(request({ currency: 'USD', amount: '0' })), {
      code: 'unsupported_currency',
    });
    assert.throws(() => checkPaymentRequest(request({ currency: '' })), { code: 'invalid_request' });
    for (const amount of ['0', '-1', '10000001', '99999999999999999999']) {
      assert.throws(() => checkPaymentRequest(request({ amount })), { code: 'amount_out_of_range' }, amount);
    }
    assert.equal(checkPaymentRequest(request({ amount: '10000000' })).requestedAmount, 10_000_000);
  });

  void it('takes a dynamic code amount, or the same amount repeated, and refuses another', () => {
    const payload = qr(1500);
    const base = { merchantId: undefined, qrPayload: payload, currency: '' };
    assert.equal(checkPaymentRequest(request({ ...base, amount: '0' })).requestedAmount, undefined);
    assert.equal(
      checkPaymentRequest(request({ ...base, amount: '1500', currency: 'JPY' })).requestedAmount,
      1500,
    );
    assert.throws(() => checkPaymentRequest(request({ ...base, amount: '1499' })), {
      code: 'invalid_request',
    });
    assert.throws(() => checkPaymentRequest(request({ ...base, currency: 'USD' })), {
      code: 'unsupported_currency',
    });
  });

  void it('needs the amount for a static code', () => {
    const base = { merchantId: undefined, qrPayload: qr(), currency: '' };
    assert.throws(() => checkPaymentRequest(request({ ...base, amount: '0' })), { code: 'invalid_request' });
    assert.equal(checkPaymentRequest(request({ ...base, amount: '800' })).requestedAmount, 800);
  });

  void it('refuses a payload with a bad CRC as invalid_qr with its reason', () => {
    const payload = qr(1500);
    const tampered = payload.slice(0, -1) + (payload.endsWith('0') ? '1' : '0');
    assert.throws(
      () =>
        checkPaymentRequest(
          request({ merchantId: undefined, qrPayload: tampered, amount: '0', currency: '' }),
        ),
      {
        code: 'invalid_qr',
        details: { reason: 'bad_crc' },
      },
    );
  });
});

void describe('payment rules', () => {
  void it('derives the ledger transfer id from the payment id', () => {
    assert.equal(paymentTransferId('pmt_abc'), 'pay_pmt_abc');
  });

  void it('shows a payment to its payer and its merchant only', () => {
    const payment = { payerUserId: 'usr_1', merchantId: 'mch_1' };
    assert.equal(canSeePayment(payment, 'usr_1'), true);
    assert.equal(canSeePayment(payment, 'mch_1'), true);
    assert.equal(canSeePayment(payment, 'usr_2'), false);
  });
});

void describe('card declines', () => {
  void it('answers a lockout as ACCOUNT_LOCKED and every other refusal of the card as CARD_DECLINED', () => {
    assert.equal(cardDecline('ACCOUNT_LOCKED'), 'ACCOUNT_LOCKED');
    assert.equal(cardDecline('CARD_DECLINED'), 'CARD_DECLINED');
    assert.equal(cardDecline('CARD_EXPIRED'), 'CARD_DECLINED');
    assert.equal(refusalDecline('account_locked'), 'ACCOUNT_LOCKED');
    assert.equal(refusalDecline('invalid_cvc'), 'CARD_DECLINED');
    assert.equal(refusalDecline('rate_limited'), undefined);
    assert.equal(refusalDecline('not_found'), undefined);
  });
});

void describe('finishPayment', () => {
  const pending = {
    status: 'PENDING',
    declineReason: null,
    cashback: noCashback,
    finishedAt: null,
  } as Payment;
  const at = new Date(1_000);

  void it('records the cashback outcome with a completion only', () => {
    const cashback = { status: 'GRANTED' as const, points: 12, campaignId: 'cmp_1' };
    const completed = finishPayment(pending, { status: 'COMPLETED', cashback }, at);
    assert.deepEqual(
      [completed.status, completed.cashback, completed.finishedAt],
      ['COMPLETED', cashback, at],
    );
    const declined = finishPayment(pending, { status: 'DECLINED', declineReason: 'CARD_DECLINED' }, at);
    assert.deepEqual([declined.declineReason, declined.cashback], ['CARD_DECLINED', noCashback]);
  });
});
