import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMerchantQr, parseMerchantQr, withCrc } from '../src/qr/emvco.js';
import { newKey, startHarness, type Harness } from './support/payment-harness.js';

void describe('QR codes and QR payments', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const payQr = (userId: string, qrPayload: string, amount = 0, currency = '') =>
    h.client.createPayment({
      idempotencyKey: newKey(),
      callerId: userId,
      payerUserId: userId,
      qrPayload,
      amount,
      currency,
    });

  void it('issues a dynamic code whose payload names the merchant, the amount and the code id', async () => {
    const merchant = h.newMerchant();
    const { qrCode } = await h.client.createQrCode({ merchantId: merchant.merchantId, amount: 1500 });
    assert.ok(qrCode);
    assert.match(qrCode.qrCodeId, /^qr_[0-9a-f]{20}$/);
    assert.equal(qrCode.amount, '1500');
    assert.equal(qrCode.currency, 'JPY');
    const parsed = parseMerchantQr(qrCode.payload);
    assert.ok(parsed.ok);
    assert.equal(parsed.qr.initiation, 'dynamic');
    assert.equal(parsed.qr.merchantId, merchant.merchantId);
    assert.equal(parsed.qr.amount, 1500);
    assert.equal(parsed.qr.reference, qrCode.qrCodeId);
    assert.equal(parsed.qr.merchantName, 'Koban Test Shop');
  });

  void it('issues a static code without amount or reference', async () => {
    const merchant = h.newMerchant();
    const { qrCode } = await h.client.createQrCode({
      merchantId: merchant.merchantId,
      amount: 0,
      currency: 'JPY',
    });
    assert.ok(qrCode);
    assert.equal(qrCode.amount, '0');
    const parsed = parseMerchantQr(qrCode.payload);
    assert.ok(parsed.ok);
    assert.equal(parsed.qr.initiation, 'static');
    assert.equal(parsed.qr.amount, undefined);
    assert.equal(parsed.qr.reference, undefined);
  });

  void it('refuses a code for a merchant the ledger does not know, as not_found', async () => {
    await assert.rejects(h.client.createQrCode({ merchantId: 'mch_nobody', amount: 100 }), {
      code: 'not_found',
    });
  });

  void it('refuses a code in another currency or with an amount out of range', async () => {
    const merchant = h.newMerchant();
    await assert.rejects(
      h.client.createQrCode({ merchantId: merchant.merchantId, amount: 100, currency: 'USD' }),
      {
        code: 'unsupported_currency',
      },
    );
    await assert.rejects(h.client.createQrCode({ merchantId: merchant.merchantId, amount: 10_000_001 }), {
      code: 'amount_out_of_range',
      details: { min: 1, max: 10_000_000 },
    });
  });

  void it('pays a dynamic code for its amount, moving the money once under a derived transfer id', async () => {
    const merchant = h.newMerchant();
    const payer = h.newUser(10_000);
    const { qrCode } = await h.client.createQrCode({ merchantId: merchant.merchantId, amount: 1500 });
    assert.ok(qrCode);
    const { payment, replayed } = await payQr(payer.userId, qrCode.payload);
    assert.ok(payment);
    assert.equal(replayed, false);
    assert.equal(payment.status, 'PAYMENT_STATUS_COMPLETED');
    assert.equal(payment.amount, '1500');
    assert.equal(payment.currency, 'JPY');
    assert.equal(payment.merchantId, merchant.merchantId);
    assert.equal(payment.qrCodeId, qrCode.qrCodeId);
    assert.deepEqual(payment.cashback, { status: 'CASHBACK_STATUS_NONE', points: '0', campaignId: '' });
    assert.equal(h.ledger.balance(payer.accountId), 8_500);
    assert.equal(h.ledger.balance(merchant.accountId), 1_500);
    const transfer = h.ledger.applied.get(`pay_${payment.paymentId}`);
    assert.ok(transfer);
    assert.equal(transfer.kind, 'TRANSFER_KIND_PAYMENT');
    assert.equal(transfer.referenceId, payment.paymentId);
    assert.deepEqual(transfer.postings, [
      { fromAccountId: payer.accountId, toAccountId: merchant.accountId, amount: '1500', currency: 'JPY' },
    ]);
  });

  void it('pays a dynamic code when the request repeats its amount and currency', async () => {
    const merchant = h.newMerchant();
    const payer = h.newUser(10_000);
    const { qrCode } = await h.client.createQrCode({ merchantId: merchant.merchantId, amount: 700 });
    assert.ok(qrCode);
    const { payment } = await payQr(payer.userId, qrCode.payload, 700, 'JPY');
    assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
  });

  void it('refuses a dynamic code paid with another amount, as invalid_request', async () => {
    const merchant = h.newMerchant();
    const payer = h.newUser(10_000);
    const { qrCode } = await h.client.createQrCode({ merchantId: merchant.merchantId, amount: 700 });
    assert.ok(qrCode);
    await assert.rejects(payQr(payer.userId, qrCode.payload, 701), { code: 'invalid_request' });
    assert.equal(h.ledger.balance(payer.accountId), 10_000);
  });

  void it('pays a static code for the amount in the request', async () => {
    const merchant = h.newMerchant();
    const payer = h.newUser(10_000);
    const { qrCode } = await h.client.createQrCode({ merchantId: merchant.merchantId });
    assert.ok(qrCode);
    const { payment } = await payQr(payer.userId, qrCode.payload, 2_000, 'JPY');
    assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
    assert.equal(payment.amount, '2000');
    assert.equal(payment.qrCodeId, '');
    assert.equal(h.ledger.balance(merchant.accountId), 2_000);
  });

  void it('refuses a static code without an amount, as invalid_request', async () => {
    const merchant = h.newMerchant();
    const payer = h.newUser(10_000);
    const { qrCode } = await h.client.createQrCode({ merchantId: merchant.merchantId });
    assert.ok(qrCode);
    await assert.rejects(payQr(payer.userId, qrCode.payload), {
      code: 'invalid_request',
      details: { fields: { amount: 'required to pay a static QR code' } },
    });
  });

  void it('refuses a payload with a bad CRC, as invalid_qr with reason bad_crc', async () => {
    const merchant = h.newMerchant();
    const payer = h.newUser(10_000);
    const { qrCode } = await h.client.createQrCode({ merchantId: merchant.merchantId, amount: 1500 });
    assert.ok(qrCode);
    const tampered = qrCode.payload.slice(0, -4) + (qrCode.payload.endsWith('0000') ? '0001' : '0000');
    await assert.rejects(payQr(payer.userId, tampered), {
      code: 'invalid_qr',
      status: 3,
      details: { reason: 'bad_crc' },
    });
    assert.equal(
      h.ledger.transferCalls.filter((call) => call.postings[0]?.fromAccountId === payer.accountId).length,
      0,
    );
  });

  void it('refuses a well-formed forgery of a dynamic code with another amount, as invalid_qr', async () => {
    const merchant = h.newMerchant();
    const payer = h.newUser(10_000);
    const { qrCode } = await h.client.createQrCode({ merchantId: merchant.merchantId, amount: 1500 });
    assert.ok(qrCode);
    const forged = withCrc(qrCode.payload.slice(0, -8).replace('54041500', '540215'));
    await assert.rejects(payQr(payer.userId, forged), {
      code: 'invalid_qr',
      details: { reason: 'qr_code_mismatch' },
    });
  });

  void it('refuses a static code of an unknown merchant, as invalid_qr', async () => {
    const payer = h.newUser(10_000);
    const payload = encodeMerchantQr({
      initiation: 'static',
      merchantId: 'mch_unknown',
      mcc: '5812',
      currency: 'JPY',
      countryCode: 'JP',
      merchantName: 'Nobody',
      merchantCity: 'Tokyo',
    });
    await assert.rejects(payQr(payer.userId, payload, 100), {
      code: 'invalid_qr',
      details: { reason: 'unknown_merchant' },
    });
  });

  void it('refuses a code in another currency, as invalid_qr', async () => {
    const merchant = h.newMerchant();
    const payer = h.newUser(10_000);
    const { qrCode } = await h.client.createQrCode({ merchantId: merchant.merchantId });
    assert.ok(qrCode);
    const dollars = withCrc(qrCode.payload.slice(0, -8).replace('5303392', '5303840'));
    await assert.rejects(payQr(payer.userId, dollars, 100), {
      code: 'invalid_qr',
      details: { reason: 'unsupported_currency' },
    });
  });
});
