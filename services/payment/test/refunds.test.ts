import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, decodeEnvelope } from '@koban/platform';
import { newKey, startHarness, type Harness } from './support/payment-harness.js';

void describe('refunds', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  /** A completed payment of `amount` from a fresh payer to a fresh merchant. */
  const paid = async (amount = 1_000) => {
    const payer = h.newUser(10_000);
    const merchant = h.newMerchant();
    const { payment } = await h.client.createPayment({
      idempotencyKey: newKey(),
      callerId: payer.userId,
      payerUserId: payer.userId,
      merchantId: merchant.merchantId,
      amount,
      currency: 'JPY',
    });
    assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
    return { payer, merchant, paymentId: payment.paymentId };
  };

  const refund = (merchantId: string, paymentId: string, amount = 0, idempotencyKey = newKey()) =>
    h.client.createRefund({ idempotencyKey, callerId: merchantId, paymentId, amount });

  void it('refunds part, then all that is left, back to the payer, announcing each', async () => {
    const { payer, merchant, paymentId } = await paid(1_000);
    const partial = await refund(merchant.merchantId, paymentId, 300);
    assert.equal(partial.refund?.status, 'REFUND_STATUS_COMPLETED');
    assert.equal(partial.refund.amount, '300');
    assert.equal(partial.refund.paymentId, paymentId);
    assert.equal(partial.refund.clawedBackPoints, '0');
    assert.match(partial.refund.refundId, /^rfd_/);

    const rest = await refund(merchant.merchantId, paymentId);
    assert.equal(rest.refund?.amount, '700');
    assert.equal(h.ledger.balance(payer.accountId), 10_000);
    assert.equal(h.ledger.balance(merchant.accountId), 0);
    const transfer = h.ledger.applied.get(`refund_${rest.refund.refundId}`);
    assert.equal(transfer?.kind, 'TRANSFER_KIND_REFUND');
    assert.deepEqual(transfer.postings, [
      { fromAccountId: merchant.accountId, toAccountId: payer.accountId, amount: '700', currency: 'JPY' },
    ]);

    const { payment } = await h.client.getPayment({ paymentId });
    assert.equal(payment?.refundedAmount, '1000');

    const rows = await h.rows(
      `SELECT payload FROM outbox WHERE event_key = ? AND event_type = 'PaymentRefunded' ORDER BY created_at`,
      [payer.accountId],
    );
    const events = rows.map((row) => decodeEnvelope(row['payload'] as Buffer).paymentRefunded);
    assert.deepEqual(
      events.map((event) => [event?.amount, event?.paymentAmount, event?.totalRefundedAmount]),
      [
        ['300', '1000', '300'],
        ['700', '1000', '1000'],
      ],
    );
    assert.equal(events[1]?.merchantAccountId, merchant.accountId);
    assert.equal(events[1]?.ledgerTransferId, `refund_${rest.refund.refundId}`);
  });

  void it('refuses refunding more than is left, with what is refundable', async () => {
    const { merchant, paymentId } = await paid(1_000);
    await assert.rejects(refund(merchant.merchantId, paymentId, 1_001), {
      code: 'refund_exceeds_payment',
      status: 9,
      details: { refundable: 1_000 },
    });
    await refund(merchant.merchantId, paymentId, 600);
    await assert.rejects(refund(merchant.merchantId, paymentId, 401), { details: { refundable: 400 } });
    await refund(merchant.merchantId, paymentId);
    await assert.rejects(refund(merchant.merchantId, paymentId), {
      code: 'refund_exceeds_payment',
      details: { refundable: 0 },
    });
  });

  void it('never refunds more than was paid under concurrent refunds', async () => {
    const { payer, merchant, paymentId } = await paid(1_000);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => refund(merchant.merchantId, paymentId, 300)),
    );
    const completed = results.filter(
      (r) => r.status === 'fulfilled' && r.value.refund?.status === 'REFUND_STATUS_COMPLETED',
    );
    const refused = results.filter(
      (r) =>
        r.status === 'rejected' &&
        r.reason instanceof DomainError &&
        r.reason.code === 'refund_exceeds_payment',
    );
    assert.equal(completed.length, 3);
    assert.equal(refused.length, 7);
    assert.equal(h.ledger.balance(payer.accountId), 9_900);
    const { payment } = await h.client.getPayment({ paymentId });
    assert.equal(payment?.refundedAmount, '900');
  });

  void it('lets only the payee refund: another merchant gets not_found', async () => {
    const { paymentId } = await paid(1_000);
    const other = h.newMerchant();
    await assert.rejects(refund(other.merchantId, paymentId), { code: 'not_found' });
    await assert.rejects(refund(other.merchantId, 'pmt_unknown'), { code: 'not_found' });
  });

  void it('replays a refund for the same key, and refuses the key with another amount', async () => {
    const { payer, merchant, paymentId } = await paid(1_000);
    const key = newKey();
    const first = await refund(merchant.merchantId, paymentId, 250, key);
    const again = await refund(merchant.merchantId, paymentId, 250, key);
    assert.equal(again.replayed, true);
    assert.deepEqual(again.refund, first.refund);
    assert.equal(h.ledger.balance(payer.accountId), 9_250);
    await assert.rejects(refund(merchant.merchantId, paymentId, 251, key), {
      code: 'idempotency_key_reused',
    });
  });

  void it('records a refund the merchant cannot cover as FAILED, and gives its amount back', async () => {
    const { payer, merchant, paymentId } = await paid(1_000);
    h.ledger.setBalance(merchant.accountId, 50);
    const { refund: failed } = await refund(merchant.merchantId, paymentId, 100);
    assert.equal(failed?.status, 'REFUND_STATUS_FAILED');
    assert.equal(h.ledger.balance(payer.accountId), 9_000);
    const [row] = await h.rows('SELECT COUNT(*) AS n FROM outbox WHERE event_key = ? AND event_type = ?', [
      payer.accountId,
      'PaymentRefunded',
    ]);
    assert.equal(Number(row?.['n']), 0);

    h.ledger.setBalance(merchant.accountId, 1_000);
    const { refund: full } = await refund(merchant.merchantId, paymentId);
    assert.equal(full?.status, 'REFUND_STATUS_COMPLETED');
    assert.equal(full.amount, '1000');
  });

  void it('shows a refund to the payee and the payer only', async () => {
    const { payer, merchant, paymentId } = await paid(1_000);
    const { refund: created } = await refund(merchant.merchantId, paymentId, 100);
    assert.ok(created);
    const asCaller = (callerId: string) =>
      h.client.getRefund({ refundId: created.refundId }, h.withMetadata({ 'koban-caller-id': callerId }));
    assert.deepEqual((await asCaller(merchant.merchantId)).refund, created);
    assert.deepEqual((await asCaller(payer.userId)).refund, created);
    await assert.rejects(asCaller(h.newUser().userId), { code: 'not_found' });
  });

  void it('has the sweeper finish a refund the ledger did not answer', async () => {
    const { payer, merchant, paymentId } = await paid(1_000);
    h.ledger.down = true;
    try {
      await assert.rejects(refund(merchant.merchantId, paymentId, 400), { code: 'service_unavailable' });
    } finally {
      h.ledger.down = false;
    }
    // The pending refund already holds its amount: no concurrent refund can overdraw the payment.
    await assert.rejects(refund(merchant.merchantId, paymentId, 601), { details: { refundable: 600 } });
    await h.app.sweeper.runOnce();
    const [row] = await h.rows('SELECT status FROM refunds WHERE payment_id = ?', [paymentId]);
    assert.equal(row?.['status'], 'COMPLETED');
    assert.equal(h.ledger.balance(payer.accountId), 9_400);
  });
});
