import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEnvelope } from '@koban/platform';
import { newKey, startHarness, type Harness } from './support/payment-harness.js';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

void describe('wallet payments', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  /** A funded payer, a merchant, and a request paying `amount` by merchant id. */
  const scenario = (amount = 1_000, balance = 10_000) => {
    const payer = h.newUser(balance);
    const merchant = h.newMerchant();
    const request = {
      idempotencyKey: newKey(),
      callerId: payer.userId,
      payerUserId: payer.userId,
      merchantId: merchant.merchantId,
      amount,
      currency: 'JPY',
      clientIp: '203.0.113.7',
    };
    return { payer, merchant, request };
  };

  const outboxRows = (key: string) =>
    h.rows('SELECT topic, event_key, event_type, payload, traceparent FROM outbox WHERE event_key = ?', [
      key,
    ]);

  const paymentRow = async (paymentId: string) =>
    (
      await h.rows('SELECT status, decline_reason, ledger_transfer_id FROM payments WHERE payment_id = ?', [
        paymentId,
      ])
    )[0];

  void it('pays a merchant by id and writes PaymentCompleted to the outbox with the request traceparent', async () => {
    const { payer, merchant, request } = scenario(1_200);
    const { payment } = await h.client.createPayment(request, h.withMetadata({ traceparent }));
    assert.ok(payment);
    assert.equal(payment.status, 'PAYMENT_STATUS_COMPLETED');
    assert.equal(payment.payerUserId, payer.userId);
    assert.equal(payment.method, 'PAYMENT_METHOD_WALLET');
    assert.equal(payment.refundedAmount, '0');
    assert.ok(payment.createdAt && payment.finishedAt);

    const rows = await outboxRows(payer.accountId);
    assert.equal(rows.length, 1);
    const [row] = rows;
    assert.equal(row?.['topic'], 'payments.v1');
    assert.equal(row?.['event_type'], 'PaymentCompleted');
    assert.equal(row?.['traceparent'], traceparent);
    const envelope = decodeEnvelope(row?.['payload'] as Buffer);
    assert.equal(envelope.key, payer.accountId);
    assert.equal(envelope.producer, 'payment');
    assert.equal(envelope.event, 'paymentCompleted');
    assert.deepEqual(
      { ...envelope.paymentCompleted, completedAt: undefined },
      {
        paymentId: payment.paymentId,
        payerUserId: payer.userId,
        payerAccountId: payer.accountId,
        merchantId: merchant.merchantId,
        merchantAccountId: merchant.accountId,
        amount: '1200',
        currency: 'JPY',
        method: 'PAYMENT_METHOD_WALLET',
        cardId: '',
        ledgerTransferId: `pay_${payment.paymentId}`,
        cashbackStatus: 'CASHBACK_STATUS_NONE',
        cashbackPoints: '0',
        campaignId: '',
        qrCodeId: '',
        completedAt: undefined,
      },
    );
  });

  void it('writes the outbox row in the transaction that completes the payment: no row, no completion', async () => {
    const { payer, request } = scenario(500);
    await h.db.query('RENAME TABLE outbox TO outbox_away');
    try {
      await assert.rejects(h.client.createPayment(request), { code: 13 });
    } finally {
      await h.db.query('RENAME TABLE outbox_away TO outbox');
    }
    // The ledger moved the money, but neither the completion nor its event was recorded.
    const [pending] = await h.rows('SELECT payment_id, status FROM payments WHERE payer_user_id = ?', [
      payer.userId,
    ]);
    assert.equal(pending?.['status'], 'PENDING');
    assert.equal((await outboxRows(payer.accountId)).length, 0);

    // Recovery records both at once, with the same transfer id.
    await h.app.sweeper.runOnce();
    const paymentId = String(pending?.['payment_id']);
    assert.equal((await paymentRow(paymentId))?.['status'], 'COMPLETED');
    assert.equal((await outboxRows(payer.accountId)).length, 1);
    assert.equal(h.ledger.balance(payer.accountId), 9_500);
  });

  void it('declines for insufficient funds, moving nothing and announcing nothing', async () => {
    const { payer, request } = scenario(5_000, 4_999);
    const { payment } = await h.client.createPayment(request);
    assert.equal(payment?.status, 'PAYMENT_STATUS_DECLINED');
    assert.equal(payment.declineReason, 'DECLINE_REASON_INSUFFICIENT_FUNDS');
    assert.ok(payment.finishedAt);
    assert.equal(h.ledger.balance(payer.accountId), 4_999);
    assert.equal((await outboxRows(payer.accountId)).length, 0);
  });

  void it('declines for risk when fraud says so, without calling the ledger', async () => {
    const { payer, request } = scenario(3_000);
    h.fraud.decide = (score) => (score.userId === payer.userId ? 'DECISION_DECLINE' : 'DECISION_ALLOW');
    try {
      const { payment } = await h.client.createPayment(request);
      assert.equal(payment?.status, 'PAYMENT_STATUS_DECLINED');
      assert.equal(payment.declineReason, 'DECLINE_REASON_RISK');
      const scored = h.fraud.scoreCalls.find((call) => call.userId === payer.userId);
      assert.equal(scored?.paymentId, payment.paymentId);
      assert.equal(scored.amount, '3000');
      assert.equal(scored.clientIp, '203.0.113.7');
      assert.equal(
        h.ledger.transferCalls.some((call) => call.referenceId === payment.paymentId),
        false,
      );
    } finally {
      h.fraud.decide = () => 'DECISION_ALLOW';
    }
  });

  void it('falls back to the local rule when fraud is slower than its 300 ms budget', async () => {
    h.fraud.delayMs = 600;
    try {
      const small = scenario(50_000, 100_000);
      const started = Date.now();
      const { payment: allowed } = await h.client.createPayment(small.request);
      assert.equal(allowed?.status, 'PAYMENT_STATUS_COMPLETED');
      assert.ok(Date.now() - started < 1_500, 'the fallback answers at the budget, not at the slow answer');

      const large = scenario(50_001, 100_000);
      const { payment: declined } = await h.client.createPayment(large.request);
      assert.equal(declined?.status, 'PAYMENT_STATUS_DECLINED');
      assert.equal(declined.declineReason, 'DECLINE_REASON_RISK');
    } finally {
      h.fraud.delayMs = 0;
    }
  });

  void it('falls back to the local rule when fraud is down', async () => {
    h.fraud.down = true;
    try {
      const { payment } = await h.client.createPayment(scenario(100).request);
      assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
    } finally {
      h.fraud.down = false;
    }
  });

  void it('refuses another currency, as unsupported_currency', async () => {
    const { request } = scenario();
    await assert.rejects(h.client.createPayment({ ...request, currency: 'USD' }), {
      code: 'unsupported_currency',
      status: 3,
    });
  });

  void it('refuses amounts outside 1..10,000,000, as amount_out_of_range', async () => {
    const { request } = scenario();
    for (const amount of [0, -5, 10_000_001]) {
      await assert.rejects(h.client.createPayment({ ...request, idempotencyKey: newKey(), amount }), {
        code: 'amount_out_of_range',
        status: 11,
        details: { min: 1, max: 10_000_000 },
      });
    }
  });

  void it('refuses paying from another user or to an unknown merchant, as not_found', async () => {
    const { request } = scenario();
    const stranger = h.newUser(0);
    await assert.rejects(h.client.createPayment({ ...request, callerId: stranger.userId }), {
      code: 'not_found',
    });
    await assert.rejects(h.client.createPayment({ ...request, merchantId: 'mch_nobody' }), {
      code: 'not_found',
    });
    const walletless = `usr_${newKey()}`;
    await assert.rejects(
      h.client.createPayment({ ...request, callerId: walletless, payerUserId: walletless }),
      {
        code: 'not_found',
      },
    );
  });

  void it('shows a payment to its payer and its merchant only', async () => {
    const { payer, merchant, request } = scenario(900);
    const { payment } = await h.client.createPayment(request);
    assert.ok(payment);
    const asCaller = (callerId: string) =>
      h.client.getPayment({ paymentId: payment.paymentId }, h.withMetadata({ 'koban-caller-id': callerId }));
    assert.deepEqual((await asCaller(payer.userId)).payment, payment);
    assert.deepEqual((await asCaller(merchant.merchantId)).payment, payment);
    await assert.rejects(asCaller(h.newUser().userId), { code: 'not_found', status: 5 });
    await assert.rejects(h.client.getPayment({ paymentId: 'pmt_unknown' }), { code: 'not_found' });
  });

  void it('leaves the payment PENDING when the ledger is down, and a retry with the same key completes it once', async () => {
    const { payer, merchant, request } = scenario(2_500);
    h.ledger.down = true;
    try {
      await assert.rejects(h.client.createPayment(request), {
        code: 'service_unavailable',
        status: 14,
        details: { retryAfterSeconds: 1 },
      });
    } finally {
      h.ledger.down = false;
    }
    const [row] = await h.rows('SELECT payment_id, status FROM payments WHERE payer_user_id = ?', [
      payer.userId,
    ]);
    assert.equal(row?.['status'], 'PENDING');

    const { payment, replayed } = await h.client.createPayment(request);
    assert.ok(payment);
    assert.equal(replayed, false);
    assert.equal(payment.paymentId, row?.['payment_id']);
    assert.equal(payment.status, 'PAYMENT_STATUS_COMPLETED');
    assert.equal(h.ledger.balance(payer.accountId), 7_500);
    assert.equal(h.ledger.balance(merchant.accountId), 2_500);
    const ids = new Set(
      h.ledger.transferCalls.filter((c) => c.referenceId === payment.paymentId).map((c) => c.transferId),
    );
    assert.deepEqual([...ids], [`pay_${payment.paymentId}`]);
  });

  void it('has the sweeper complete a PENDING payment whose transfer the ledger had applied', async () => {
    const { payer, merchant, request } = scenario(4_000);
    h.ledger.loseTransferAnswers = true;
    try {
      await assert.rejects(h.client.createPayment(request, h.withMetadata({ traceparent })), {
        code: 'service_unavailable',
      });
    } finally {
      h.ledger.loseTransferAnswers = false;
    }
    const [row] = await h.rows('SELECT payment_id, status FROM payments WHERE payer_user_id = ?', [
      payer.userId,
    ]);
    const paymentId = String(row?.['payment_id']);
    assert.equal(row?.['status'], 'PENDING');
    assert.equal(h.ledger.balance(merchant.accountId), 4_000, 'the money moved although the answer was lost');
    const callsBefore = h.ledger.transferCalls.length;

    const looked = await h.app.sweeper.runOnce();
    assert.ok((looked['payments'] ?? 0) >= 1);
    assert.equal((await paymentRow(paymentId))?.['status'], 'COMPLETED');
    assert.equal(h.ledger.transferCalls.length, callsBefore, 'found applied: not sent again');
    assert.equal(h.ledger.balance(payer.accountId), 6_000);
    const events = await outboxRows(payer.accountId);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.['traceparent'], traceparent, 'the sweeper carries the original request trace');

    // The client's retry now answers what the sweeper recorded.
    const { payment, replayed } = await h.client.createPayment(request);
    assert.equal(replayed, true);
    assert.equal(payment?.paymentId, paymentId);
    assert.equal(payment.status, 'PAYMENT_STATUS_COMPLETED');
  });

  void it('has the sweeper send the same transfer again when the ledger never got it', async () => {
    const { payer, request } = scenario(1_000);
    h.ledger.down = true;
    try {
      await assert.rejects(h.client.createPayment(request), { code: 'service_unavailable' });
    } finally {
      h.ledger.down = false;
    }
    await h.app.sweeper.runOnce();
    const [row] = await h.rows('SELECT payment_id, status FROM payments WHERE payer_user_id = ?', [
      payer.userId,
    ]);
    assert.equal(row?.['status'], 'COMPLETED');
    assert.equal(h.ledger.balance(payer.accountId), 9_000);
  });
});

void describe('the sweeper abandoning payments', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { PENDING_RETRY_DEADLINE_MS: 200, PENDING_FAIL_QUIET_MS: 200 } });
  });
  after(() => h.close());

  void it('marks FAILED a payment the ledger never applied once the deadline and the quiet time passed', async () => {
    const payer = h.newUser(10_000);
    const merchant = h.newMerchant();
    const request = {
      idempotencyKey: newKey(),
      callerId: payer.userId,
      payerUserId: payer.userId,
      merchantId: merchant.merchantId,
      amount: 100,
      currency: 'JPY',
    };
    h.ledger.down = true;
    await assert.rejects(h.client.createPayment(request), { code: 'service_unavailable' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await h.app.sweeper.runOnce();
    const [row] = await h.rows('SELECT status, finished_at FROM payments WHERE payer_user_id = ?', [
      payer.userId,
    ]);
    assert.equal(row?.['status'], 'FAILED');
    assert.equal(h.ledger.balance(payer.accountId), 10_000);
    h.ledger.down = false;

    const { payment, replayed } = await h.client.createPayment(request);
    assert.equal(replayed, true);
    assert.equal(payment?.status, 'PAYMENT_STATUS_FAILED');
  });
});
