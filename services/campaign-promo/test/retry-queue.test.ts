import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createLogger, decodeEnvelope, toTimestamp, type EnvelopeEvent } from '@koban/platform';
import { replayDeadLetters } from '../src/dead-letters/dead-letter-replay.js';
import { eventually, startHarness, type Harness } from './support/campaign-harness.js';

void describe('deferred-cashback retry queue', { timeout: 180_000 }, () => {
  let h: Harness;
  let merchantId: string;
  before(async () => {
    h = await startHarness();
    merchantId = `mch_${randomUUID()}`;
    await h.createCampaign({ merchantIds: [merchantId] });
    await h.kafka();
    h.startOutbox();
  });
  after(() => h.close());

  /** What payment writes to its outbox when GrantCashback did not answer in time. */
  const deferral = (user: { userId: string; pointsAccountId: string }, amount = 1_000) =>
    ({
      paymentId: `pay_${randomUUID()}`,
      userId: user.userId,
      pointsAccountId: user.pointsAccountId,
      merchantId,
      amount: String(amount),
      currency: 'JPY',
      paidAt: toTimestamp(Date.now()),
      reason: 'timeout',
    }) satisfies EnvelopeEvent<'cashbackDeferred'>;

  const grantOf = async (paymentId: string) =>
    (
      await h.rows(
        'SELECT status, points, ledger_state, deferred FROM cashback_grants WHERE payment_id = ?',
        [paymentId],
      )
    )[0];

  void it('grants a CashbackDeferred once even when it is delivered twice, and announces CashbackGranted', async () => {
    const consumer = await h.startConsumer(`group-${randomUUID()}`);
    h.app.worker.start();
    try {
      const user = h.newUser();
      const event = deferral(user);
      const eventId = await h.publish(h.topics.cashback, 'cashbackDeferred', event, {
        key: user.pointsAccountId,
      });
      // The relay publishing the same row again, and a second deferral written for the same payment.
      await h.publish(h.topics.cashback, 'cashbackDeferred', event, { key: user.pointsAccountId, eventId });
      await h.publish(h.topics.cashback, 'cashbackDeferred', event, { key: user.pointsAccountId });
      await eventually(async () =>
        (await grantOf(event.paymentId))?.['ledger_state'] === 'CREDITED' ? true : undefined,
      );
      await eventually(async () => {
        const processed = await h.rows('SELECT COUNT(*) AS n FROM processed_events');
        return Number(processed[0]?.['n']) >= 2 ? true : undefined;
      });
      const grant = await grantOf(event.paymentId);
      assert.deepEqual(
        [grant?.['status'], Number(grant?.['points']), Number(grant?.['deferred'])],
        ['GRANTED', 100, 1],
      );
      assert.equal(h.ledger.balance(user.pointsAccountId), 100);
      assert.ok(h.ledger.applied.has(`cashback_${event.paymentId}`));
      assert.equal(
        (await h.rows('SELECT 1 FROM cashback_grants WHERE payment_id = ?', [event.paymentId])).length,
        1,
      );

      const records = await h.readTopic(h.topics.cashback, 4);
      const granted = records
        .map((record) => decodeEnvelope(record.value))
        .filter((envelope) => envelope.cashbackGranted?.paymentId === event.paymentId);
      assert.equal(granted.length, 1);
      assert.equal(granted[0]?.cashbackGranted?.deferred, true);
      assert.equal(granted[0]?.cashbackGranted?.points, '100');
    } finally {
      await h.app.worker.stop();
      await consumer.stop();
    }
  });

  void it('grants a payment completed with cashback PENDING (the safety net), once alongside its CashbackDeferred', async () => {
    const consumer = await h.startConsumer(`group-${randomUUID()}`);
    h.app.worker.start();
    try {
      const user = h.newUser();
      const event = deferral(user, 600);
      const completed = (
        status: 'CASHBACK_STATUS_PENDING' | 'CASHBACK_STATUS_NONE',
        paymentId: string,
      ): EnvelopeEvent<'paymentCompleted'> => ({
        paymentId,
        payerUserId: user.userId,
        payerAccountId: `acc_wallet_${user.userId}`,
        merchantId,
        merchantAccountId: 'acc_merchant',
        amount: '600',
        currency: 'JPY',
        method: 'PAYMENT_METHOD_WALLET',
        ledgerTransferId: `pay_${paymentId}`,
        cashbackStatus: status,
        completedAt: toTimestamp(Date.now()),
      });
      await h.publish(
        h.topics.payments,
        'paymentCompleted',
        completed('CASHBACK_STATUS_PENDING', event.paymentId),
      );
      await h.publish(h.topics.cashback, 'cashbackDeferred', event, { key: user.pointsAccountId });
      const unrelated = `pay_${randomUUID()}`;
      await h.publish(h.topics.payments, 'paymentCompleted', completed('CASHBACK_STATUS_NONE', unrelated));
      await eventually(async () =>
        (await grantOf(event.paymentId))?.['ledger_state'] === 'CREDITED' ? true : undefined,
      );
      await eventually(async () => {
        const processed = await h.rows(
          'SELECT COUNT(*) AS n FROM processed_events WHERE consumer_group LIKE ?',
          ['group-%'],
        );
        return Number(processed[0]?.['n']) >= 3 ? true : undefined;
      });
      assert.equal(h.ledger.balance(user.pointsAccountId), 60);
      assert.equal(await grantOf(unrelated), undefined);
    } finally {
      await h.app.worker.stop();
      await consumer.stop();
    }
  });

  void it('grants each pending payment exactly once when the consumer is stopped mid-batch and restarted', async () => {
    const groupId = `group-${randomUUID()}`;
    const users = Array.from({ length: 40 }, () => h.newUser());
    const events = users.map((user) => deferral(user));
    h.ledger.transferDelayMs = 20;
    try {
      for (const [index, event] of events.entries()) {
        await h.publish(h.topics.cashback, 'cashbackDeferred', event, {
          key: users[index]?.pointsAccountId ?? '',
        });
      }
      const first = await h.startConsumer(groupId, { handlerDelayMs: 30 });
      h.app.worker.start();
      const countOf = async (table: string) =>
        Number(
          (
            await h.rows(
              `SELECT COUNT(*) AS n FROM ${table} WHERE payment_id IN (${events.map(() => '?').join(',')})`,
              events.map((event) => event.paymentId),
            )
          )[0]?.['n'],
        );
      const consumed = () => countOf('deferred_grants');
      const granted = () => countOf('cashback_grants');
      await eventually(async () => ((await granted()) >= 3 ? true : undefined));
      await Promise.all([first.stop(), h.app.worker.stop()]);
      const [consumedBefore, grantedBefore] = [await consumed(), await granted()];
      assert.ok(consumedBefore < 40, `stopped after consuming ${consumedBefore} events`);
      assert.ok(grantedBefore < 40, `stopped after ${grantedBefore} grants`);

      await h.startConsumer(groupId);
      h.app.worker.start();
      await eventually(async () => {
        const credited = await h.rows(
          `SELECT COUNT(*) AS n FROM cashback_grants WHERE ledger_state = 'CREDITED' AND payment_id IN (${events.map(() => '?').join(',')})`,
          events.map((event) => event.paymentId),
        );
        return Number(credited[0]?.['n']) === 40 ? true : undefined;
      }, 30_000);
      for (const [index, event] of events.entries()) {
        assert.ok(h.ledger.applied.has(`cashback_${event.paymentId}`));
        assert.equal(h.ledger.balance(users[index]?.pointsAccountId ?? ''), 100, event.paymentId);
      }
      assert.equal(await granted(), 40);
      assert.equal(await consumed(), 40);
    } finally {
      h.ledger.transferDelayMs = 0;
      await h.app.worker.stop();
    }
  });

  void it('dead-letters a grant that keeps failing and grants it once the DLQ is replayed', async () => {
    const groupId = `group-${randomUUID()}`;
    const consumer = await h.startConsumer(groupId);
    h.app.worker.start();
    const user = h.newUser();
    // No points account in the event: the ledger must be asked, and it is down.
    const event = { ...deferral(user), pointsAccountId: '' };
    h.ledger.lookupDown = true;
    try {
      await h.publish(h.topics.cashback, 'cashbackDeferred', event, { key: user.userId });
      const dead = await eventually(async () => {
        const [row] = await h.rows(
          'SELECT state, attempts, last_error FROM deferred_grants WHERE payment_id = ?',
          [event.paymentId],
        );
        return row?.['state'] === 'DEAD' ? row : undefined;
      }, 20_000);
      assert.equal(Number(dead['attempts']), 3);
      assert.match(String(dead['last_error']), /service_unavailable/);
      assert.equal(await grantOf(event.paymentId), undefined);

      const [letter] = await h.readTopic(h.topics.cashbackDeadLetter, 1);
      assert.ok(letter);
      assert.equal(letter.key, user.userId);
      assert.equal(letter.headers['koban-event-type'], 'koban.events.v1.CashbackDeferred');
      assert.equal(decodeEnvelope(letter.value).cashbackDeferred?.paymentId, event.paymentId);
    } finally {
      h.ledger.lookupDown = false;
    }

    // The operator's command, once the cause is fixed.
    const kafka = await h.kafka();
    const run = () =>
      replayDeadLetters({
        kafka,
        from: h.topics.cashbackDeadLetter,
        to: h.topics.cashback,
        groupId: `replay-${groupId}`,
        logger: createLogger({ service: 'replay-test', level: 'silent' }),
        timeoutMs: 30_000,
      });
    const first = await run();
    assert.equal(first.replayed, 1);
    await eventually(
      async () => ((await grantOf(event.paymentId))?.['ledger_state'] === 'CREDITED' ? true : undefined),
      20_000,
    );
    assert.equal(h.ledger.balance(user.pointsAccountId), 100);
    // The worker marks its queue row done just after the grant is credited.
    await eventually(async () => {
      const [row] = await h.rows('SELECT state FROM deferred_grants WHERE payment_id = ?', [event.paymentId]);
      return row?.['state'] === 'DONE' ? true : undefined;
    }, 20_000);
    // Offsets were committed: a second run replays nothing.
    assert.equal((await run()).replayed, 0);
    await h.app.worker.stop();
    await consumer.stop();
  });

  void it('claws back a refund announced by PaymentRefunded when payment could not call in time', async () => {
    const consumer = await h.startConsumer(`group-${randomUUID()}`);
    h.app.worker.start();
    try {
      const user = h.newUser();
      const request = h.grantRequest(user, 1_000, { merchantId });
      await h.client.grantCashback(request);
      const refundId = `ref_${randomUUID()}`;
      const refunded: EnvelopeEvent<'paymentRefunded'> = {
        refundId,
        paymentId: request.paymentId,
        payerUserId: user.userId,
        payerAccountId: 'acc_wallet',
        merchantId,
        merchantAccountId: 'acc_merchant',
        amount: '250',
        currency: 'JPY',
        paymentAmount: '1000',
        totalRefundedAmount: '250',
        ledgerTransferId: `refund_${refundId}`,
        refundedAt: toTimestamp(Date.now()),
      };
      await h.publish(h.topics.payments, 'paymentRefunded', refunded);
      await h.publish(h.topics.payments, 'paymentRefunded', refunded);
      await eventually(() =>
        Promise.resolve(h.ledger.balance(user.pointsAccountId) === 75 ? true : undefined),
      );
      const replay = await h.client.clawbackCashback({
        refundId,
        paymentId: request.paymentId,
        paymentAmount: '1000',
        totalRefundedAmount: '250',
      });
      assert.deepEqual([replay.replayed, replay.clawback?.points], [true, '25']);
      assert.equal(h.ledger.balance(user.pointsAccountId), 75);
    } finally {
      await h.app.worker.stop();
      await consumer.stop();
    }
  });
});
