import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, decodeEnvelope } from '@koban/platform';
import { newKey, startHarness, type Harness } from './support/payment-harness.js';

void describe('card payments', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => {
    h.bank.decide = () => 'APPROVED';
    return h.close();
  });

  /** A payer with an empty wallet and a registered card, a merchant, and a card payment request. */
  const scenario = (amount = 2_000) => {
    const payer = h.newUser(0);
    const cardId = h.bank.registerCard(payer.userId);
    const merchant = h.newMerchant();
    const request = {
      idempotencyKey: newKey(),
      callerId: payer.userId,
      payerUserId: payer.userId,
      merchantId: merchant.merchantId,
      amount,
      currency: 'JPY',
      method: 'PAYMENT_METHOD_CARD' as const,
      cardId,
      clientIp: '198.51.100.23',
    };
    return { payer, cardId, merchant, request };
  };

  const chargesOf = (paymentId: string) =>
    h.bank.createChargeCalls.filter((call) => call.chargeId === `pay_${paymentId}`);

  void it('authorises on the card after the fraud check, then settles card-settlement → merchant', async () => {
    const { payer, cardId, merchant, request } = scenario(2_400);
    const { payment } = await h.client.createPayment(request);
    assert.ok(payment);
    assert.equal(payment.status, 'PAYMENT_STATUS_COMPLETED');
    assert.equal(payment.method, 'PAYMENT_METHOD_CARD');
    assert.equal(payment.cardId, cardId);

    const score = h.fraud.scoreCalls.find((call) => call.paymentId === payment.paymentId);
    assert.equal(score?.method, 'PAYMENT_METHOD_CARD');
    assert.equal(score.cardFingerprint, `fp_${cardId}`);
    assert.equal(score.clientIp, '198.51.100.23');

    const [charge] = chargesOf(payment.paymentId);
    assert.equal(charge?.purpose, 'CHARGE_PURPOSE_PAYMENT');
    assert.equal(charge.cardId, cardId);
    assert.equal(charge.userId, payer.userId);
    assert.equal(charge.amount, '2400');
    assert.equal(charge.clientIp, '198.51.100.23');

    const transfer = h.ledger.applied.get(`pay_${payment.paymentId}`);
    assert.equal(transfer?.kind, 'TRANSFER_KIND_PAYMENT');
    assert.deepEqual(transfer.postings, [
      {
        fromAccountId: h.ledger.settlement.card,
        toAccountId: merchant.accountId,
        amount: '2400',
        currency: 'JPY',
      },
    ]);
    assert.equal(h.ledger.balance(payer.accountId), 0, 'the wallet is not touched');
    assert.equal(h.ledger.balance(merchant.accountId), 2_400);

    const [row] = await h.rows(
      `SELECT payload FROM outbox WHERE event_key = ? AND event_type = 'PaymentCompleted'`,
      [payer.accountId],
    );
    const event = decodeEnvelope(row?.['payload'] as Buffer).paymentCompleted;
    assert.equal(event?.method, 'PAYMENT_METHOD_CARD');
    assert.equal(event.cardId, cardId);
    assert.equal(event.payerAccountId, payer.accountId);

    const { payment: shown } = await h.client.getPayment({ paymentId: payment.paymentId });
    assert.deepEqual(shown, payment);
  });

  void it('records an issuer decline as DECLINED (CARD_DECLINED), moving nothing', async () => {
    const { payer, merchant, request } = scenario();
    h.bank.decide = (call) => (call.userId === payer.userId ? { declined: 'CARD_DECLINED' } : 'APPROVED');
    try {
      const { payment } = await h.client.createPayment(request);
      assert.equal(payment?.status, 'PAYMENT_STATUS_DECLINED');
      assert.equal(payment.declineReason, 'DECLINE_REASON_CARD_DECLINED');
      assert.equal(h.ledger.applied.has(`pay_${payment.paymentId}`), false);
      assert.equal(h.ledger.balance(merchant.accountId), 0);
      const replay = await h.client.createPayment(request);
      assert.equal(replay.replayed, true);
      assert.deepEqual(replay.payment, payment);
    } finally {
      h.bank.decide = () => 'APPROVED';
    }
  });

  void it('records a lockout as DECLINED (ACCOUNT_LOCKED), whether the issuer declined or bank-integration refused', async () => {
    const declined = scenario();
    const refused = scenario();
    h.bank.decide = (call) => {
      if (call.userId === declined.payer.userId) return { declined: 'ACCOUNT_LOCKED' };
      if (call.userId === refused.payer.userId) {
        return {
          refuse: new DomainError('account_locked', 'locked', { lockedUntil: '2030-01-01T00:00:00.000Z' }),
        };
      }
      return 'APPROVED';
    };
    try {
      for (const { request, merchant } of [declined, refused]) {
        const { payment } = await h.client.createPayment(request);
        assert.equal(payment?.status, 'PAYMENT_STATUS_DECLINED');
        assert.equal(payment.declineReason, 'DECLINE_REASON_ACCOUNT_LOCKED');
        assert.equal(h.ledger.balance(merchant.accountId), 0);
      }
    } finally {
      h.bank.decide = () => 'APPROVED';
    }
  });

  void it('passes a throttle through as rate_limited, recording nothing and freeing the key', async () => {
    const { payer, request } = scenario(700);
    h.bank.decide = () => ({
      refuse: new DomainError('rate_limited', 'throttled', { retryAfterSeconds: 600 }),
    });
    try {
      await assert.rejects(h.client.createPayment(request), {
        code: 'rate_limited',
        status: 8,
        details: { retryAfterSeconds: 600 },
      });
      assert.equal(
        (await h.rows('SELECT payment_id FROM payments WHERE payer_user_id = ?', [payer.userId])).length,
        0,
      );
    } finally {
      h.bank.decide = () => 'APPROVED';
    }
    const { payment, replayed } = await h.client.createPayment(request);
    assert.equal(replayed, false);
    assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
  });

  void it("answers not_found for a card that is not the payer's, and service_unavailable while bank-integration is down, recording nothing", async () => {
    const { payer, request } = scenario();
    const stranger = h.newUser();
    await assert.rejects(
      h.client.createPayment({ ...request, cardId: h.bank.registerCard(stranger.userId) }),
      { code: 'not_found' },
    );
    await assert.rejects(
      h.client.createPayment({ ...request, idempotencyKey: newKey(), cardId: 'card_unknown' }),
      {
        code: 'not_found',
      },
    );
    h.bank.mode = 'unavailable';
    try {
      await assert.rejects(h.client.createPayment({ ...request, idempotencyKey: newKey() }), {
        code: 'service_unavailable',
      });
    } finally {
      h.bank.mode = 'ok';
    }
    assert.equal(
      (await h.rows('SELECT payment_id FROM payments WHERE payer_user_id = ?', [payer.userId])).length,
      0,
    );
  });

  void it('has the sweeper settle a charged card payment whose ledger transfer failed, with the same ids and one charge', async () => {
    const { payer, merchant, request } = scenario(3_300);
    h.ledger.down = true;
    try {
      await assert.rejects(h.client.createPayment(request), { code: 'service_unavailable' });
    } finally {
      h.ledger.down = false;
    }
    const [row] = await h.rows('SELECT payment_id, status FROM payments WHERE payer_user_id = ?', [
      payer.userId,
    ]);
    assert.equal(row?.['status'], 'PENDING');
    const paymentId = String(row?.['payment_id']);

    await h.app.sweeper.runOnce();
    const [done] = await h.rows('SELECT status FROM payments WHERE payment_id = ?', [paymentId]);
    assert.equal(done?.['status'], 'COMPLETED');
    assert.equal(chargesOf(paymentId).length, 1, 'the card was charged once');
    assert.equal(h.ledger.balance(merchant.accountId), 3_300);
    assert.deepEqual(
      [
        ...new Set(
          h.ledger.transferCalls.filter((c) => c.referenceId === paymentId).map((c) => c.transferId),
        ),
      ],
      [`pay_${paymentId}`],
    );
    const { payment, replayed } = await h.client.createPayment(request);
    assert.equal(replayed, true);
    assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
  });

  void it('completes a card payment whose charge answer was lost, on a retry with the same key, without charging again', async () => {
    const { merchant, request } = scenario(1_100);
    h.bank.mode = 'lose_answer';
    try {
      await assert.rejects(h.client.createPayment(request), { code: 'service_unavailable' });
    } finally {
      h.bank.mode = 'ok';
    }
    const { payment } = await h.client.createPayment(request);
    assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
    assert.equal(chargesOf(payment.paymentId).length, 1);
    assert.equal(h.ledger.balance(merchant.accountId), 1_100);
  });
});
