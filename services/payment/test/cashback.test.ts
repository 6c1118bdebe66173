import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEnvelope, fromTimestamp } from '@koban/platform';
import { newKey, startHarness, type Harness } from './support/payment-harness.js';

/** A funded payer, a merchant, and a request paying `amount` by merchant id. */
function scenario(h: Harness, amount = 2_000) {
  const payer = h.newUser(100_000);
  const merchant = h.newMerchant();
  const request = {
    idempotencyKey: newKey(),
    callerId: payer.userId,
    payerUserId: payer.userId,
    merchantId: merchant.merchantId,
    amount,
    currency: 'JPY',
  };
  return { payer, merchant, request };
}

const outbox = (h: Harness, key: string, eventType: string) =>
  h.rows('SELECT topic, payload FROM outbox WHERE event_key = ? AND event_type = ?', [key, eventType]);

/** 1 % of the amount, as a campaign would grant. */
const onePercent = (request: { amount: string }) => Math.floor(Number(request.amount) / 100);

void describe('cashback', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    h.campaign.pointsFor = onePercent;
  });
  after(() => h.close());

  void it('grants cashback with the payment: GRANTED with its points in the answer, the row and PaymentCompleted', async () => {
    const { payer, merchant, request } = scenario(h, 2_500);
    const { payment } = await h.client.createPayment(request);
    assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
    assert.deepEqual(payment.cashback, {
      status: 'CASHBACK_STATUS_GRANTED',
      points: '25',
      campaignId: 'cmp_test',
    });

    const [grant] = h.campaign.grantCalls.filter((call) => call.paymentId === payment.paymentId);
    assert.equal(grant?.userId, payer.userId);
    assert.equal(grant.pointsAccountId, payer.pointsAccountId);
    assert.equal(grant.merchantId, merchant.merchantId);
    assert.equal(grant.amount, '2500');
    assert.equal(grant.currency, 'JPY');
    assert.deepEqual(grant.paidAt, payment.finishedAt, 'campaign windows are matched against the completion');

    const [row] = await outbox(h, payer.accountId, 'PaymentCompleted');
    const event = decodeEnvelope(row?.['payload'] as Buffer).paymentCompleted;
    assert.deepEqual(
      [event?.cashbackStatus, event?.cashbackPoints, event?.campaignId],
      ['CASHBACK_STATUS_GRANTED', '25', 'cmp_test'],
    );
    assert.equal((await outbox(h, payer.pointsAccountId, 'CashbackDeferred')).length, 0);
    const { payment: shown } = await h.client.getPayment({ paymentId: payment.paymentId });
    assert.deepEqual(shown?.cashback, payment.cashback);
  });

  void it('answers NONE when no campaign matched', async () => {
    const { request } = scenario(h, 50);
    const { payment } = await h.client.createPayment(request);
    assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
    assert.deepEqual(payment.cashback, { status: 'CASHBACK_STATUS_NONE', points: '0', campaignId: '' });
  });

  void it('does not ask for cashback on a declined payment', async () => {
    const { request } = scenario(h, 200_000);
    const { payment } = await h.client.createPayment(request);
    assert.equal(payment?.status, 'PAYMENT_STATUS_DECLINED');
    assert.equal(
      h.campaign.grantCalls.some((call) => call.paymentId === payment.paymentId),
      false,
    );
    assert.equal(payment.cashback?.status, 'CASHBACK_STATUS_NONE');
  });

  void it('completes within 2.5 s with cashback PENDING when campaign-promo is slower than 2 s, CashbackDeferred written with the completion', async () => {
    const { payer, merchant, request } = scenario(h, 3_000);
    h.campaign.delayMs = 3_000;
    let payment;
    try {
      const started = Date.now();
      ({ payment } = await h.client.createPayment(request));
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 2_500, `answered in ${elapsed} ms`);
      assert.ok(elapsed >= 1_900, 'it did wait for the campaign budget');
    } finally {
      h.campaign.delayMs = 0;
    }
    assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
    assert.deepEqual(payment.cashback, { status: 'CASHBACK_STATUS_PENDING', points: '0', campaignId: '' });
    assert.equal(h.ledger.balance(merchant.accountId), 3_000);

    const [row] = await h.rows('SELECT status, cashback_status FROM payments WHERE payment_id = ?', [
      payment.paymentId,
    ]);
    assert.deepEqual({ ...row }, { status: 'COMPLETED', cashback_status: 'PENDING' });
    const deferred = await outbox(h, payer.pointsAccountId, 'CashbackDeferred');
    assert.equal(deferred.length, 1);
    assert.equal(deferred[0]?.['topic'], 'cashback.v1');
    const envelope = decodeEnvelope(deferred[0]?.['payload'] as Buffer);
    assert.equal(envelope.key, payer.pointsAccountId);
    const event = envelope.cashbackDeferred;
    assert.deepEqual(
      { ...event, paidAt: undefined },
      {
        paymentId: payment.paymentId,
        userId: payer.userId,
        pointsAccountId: payer.pointsAccountId,
        merchantId: merchant.merchantId,
        amount: '3000',
        currency: 'JPY',
        paidAt: undefined,
        reason: 'timeout',
      },
    );
    assert.equal(
      fromTimestamp(event?.paidAt ?? null)?.getTime(),
      fromTimestamp(payment.finishedAt)?.getTime(),
    );
    const [completed] = await outbox(h, payer.accountId, 'PaymentCompleted');
    assert.equal(
      decodeEnvelope(completed?.['payload'] as Buffer).paymentCompleted?.cashbackStatus,
      'CASHBACK_STATUS_PENDING',
    );

    // A replay answers exactly the same body, with no new grant attempt.
    const calls = h.campaign.grantCalls.length;
    const replay = await h.client.createPayment(request);
    assert.equal(replay.replayed, true);
    assert.deepEqual(replay.payment, payment);
    assert.equal(h.campaign.grantCalls.length, calls);
  });

  void it('defers with reason unavailable when campaign-promo fails', async () => {
    const { payer, request } = scenario(h, 1_000);
    h.campaign.down = true;
    try {
      const { payment } = await h.client.createPayment(request);
      assert.equal(payment?.cashback?.status, 'CASHBACK_STATUS_PENDING');
    } finally {
      h.campaign.down = false;
    }
    const [deferred] = await outbox(h, payer.pointsAccountId, 'CashbackDeferred');
    assert.equal(decodeEnvelope(deferred?.['payload'] as Buffer).cashbackDeferred?.reason, 'unavailable');
  });

  void it('asks for the cashback again when the sweeper completes a payment whose answer was lost', async () => {
    const { request } = scenario(h, 4_000);
    h.ledger.loseTransferAnswers = true;
    try {
      await assert.rejects(h.client.createPayment(request), { code: 'service_unavailable' });
    } finally {
      h.ledger.loseTransferAnswers = false;
    }
    await h.app.sweeper.runOnce();
    const { payment, replayed } = await h.client.createPayment(request);
    assert.equal(replayed, true);
    assert.deepEqual(payment?.cashback, {
      status: 'CASHBACK_STATUS_GRANTED',
      points: '40',
      campaignId: 'cmp_test',
    });
  });

  void it('claws back the cashback of the refunded part, once per refund, and answers it on the refund', async () => {
    const { merchant, request } = scenario(h, 2_000);
    const { payment } = await h.client.createPayment(request);
    assert.equal(payment?.cashback?.points, '20');
    const refundRequest = {
      idempotencyKey: newKey(),
      callerId: merchant.merchantId,
      paymentId: payment.paymentId,
      amount: 500,
    };
    const { refund } = await h.client.createRefund(refundRequest);
    assert.equal(refund?.status, 'REFUND_STATUS_COMPLETED');
    assert.equal(refund.clawedBackPoints, '5');
    const calls = h.campaign.clawbackCalls.filter((call) => call.paymentId === payment.paymentId);
    assert.deepEqual(
      calls.map((call) => [call.refundId, call.paymentAmount, call.totalRefundedAmount]),
      [[refund.refundId, '2000', '500']],
    );
    const replay = await h.client.createRefund(refundRequest);
    assert.equal(replay.replayed, true);
    assert.deepEqual(replay.refund, refund);
    const [row] = await h.rows(
      'SELECT clawback_status, clawed_back_points FROM refunds WHERE refund_id = ?',
      [refund.refundId],
    );
    assert.deepEqual({ ...row }, { clawback_status: 'CLAWED_BACK', clawed_back_points: '5' });

    const rest = await h.client.createRefund({ ...refundRequest, idempotencyKey: newKey(), amount: 0 });
    assert.equal(rest.refund?.clawedBackPoints, '15');
    assert.equal(h.campaign.clawbackCalls.at(-1)?.totalRefundedAmount, '2000');
  });

  void it('defers the clawback when campaign-promo is down: the refund completes and PaymentRefunded carries the totals', async () => {
    const { payer, merchant, request } = scenario(h, 1_000);
    const { payment } = await h.client.createPayment(request);
    assert.equal(payment?.cashback?.status, 'CASHBACK_STATUS_GRANTED');
    h.campaign.down = true;
    let refund;
    try {
      ({ refund } = await h.client.createRefund({
        idempotencyKey: newKey(),
        callerId: merchant.merchantId,
        paymentId: payment.paymentId,
        amount: 400,
      }));
    } finally {
      h.campaign.down = false;
    }
    assert.equal(refund?.status, 'REFUND_STATUS_COMPLETED');
    assert.equal(refund.clawedBackPoints, '0');
    assert.ok(
      h.campaign.clawbackCalls.some((call) => call.refundId === refund.refundId),
      'it was asked',
    );
    const [row] = await h.rows('SELECT clawback_status FROM refunds WHERE refund_id = ?', [refund.refundId]);
    assert.equal(row?.['clawback_status'], 'DEFERRED');
    const [event] = await outbox(h, payer.accountId, 'PaymentRefunded');
    const refunded = decodeEnvelope(event?.['payload'] as Buffer).paymentRefunded;
    assert.deepEqual(
      [refunded?.refundId, refunded?.paymentId, refunded?.paymentAmount, refunded?.totalRefundedAmount],
      [refund.refundId, payment.paymentId, '1000', '400'],
    );
  });

  void it('does not ask for a clawback when the payment had no cashback', async () => {
    h.campaign.pointsFor = () => 0;
    try {
      const { merchant, request } = scenario(h, 1_000);
      const { payment } = await h.client.createPayment(request);
      assert.equal(payment?.cashback?.status, 'CASHBACK_STATUS_NONE');
      const { refund } = await h.client.createRefund({
        idempotencyKey: newKey(),
        callerId: merchant.merchantId,
        paymentId: payment.paymentId,
        amount: 0,
      });
      assert.equal(refund?.status, 'REFUND_STATUS_COMPLETED');
      assert.equal(
        h.campaign.clawbackCalls.some((call) => call.paymentId === payment.paymentId),
        false,
      );
    } finally {
      h.campaign.pointsFor = onePercent;
    }
  });
});

void describe('cashback behind an open breaker', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ breakers: { campaign: {} } });
    h.campaign.pointsFor = onePercent;
  });
  after(() => h.close());

  void it('defers at once, without calling campaign-promo, while its breaker is open', async () => {
    h.campaign.down = true;
    try {
      for (let i = 0; i < 5; i += 1) {
        const { payment } = await h.client.createPayment(scenario(h, 1_000).request);
        assert.equal(payment?.cashback?.status, 'CASHBACK_STATUS_PENDING');
      }
      assert.equal(h.policies.campaign.snapshot().state, 'open');
      const calls = h.campaign.grantCalls.length;
      const { payer, request } = scenario(h, 1_000);
      const started = Date.now();
      const { payment } = await h.client.createPayment(request);
      assert.ok(Date.now() - started < 500, 'no wait on an open breaker');
      assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
      assert.equal(payment.cashback?.status, 'CASHBACK_STATUS_PENDING');
      assert.equal(h.campaign.grantCalls.length, calls);
      const [deferred] = await outbox(h, payer.pointsAccountId, 'CashbackDeferred');
      assert.equal(decodeEnvelope(deferred?.['payload'] as Buffer).cashbackDeferred?.reason, 'breaker_open');
    } finally {
      h.campaign.down = false;
    }
  });
});
