// The cashback-status consumer against real Kafka and MariaDB: campaign-promo's CashbackGranted,
// produced to a topic of the test's own (so the platform's running payment service never sees
// it), settles the cashback of payments that completed with it PENDING.
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildEnvelope,
  createEventProducer,
  createKafka,
  createLogger,
  encodeEnvelope,
  type BackgroundConsumer,
  type EventHandler,
  type EventProducer,
} from '@koban/platform';
import { startCashbackStatusConsumer } from '../src/cashback/cashback-status-consumer.js';
import { eventually, newKey, startHarness, type Harness } from './support/payment-harness.js';

const logger = createLogger({ service: 'payment-test', level: 'silent' });
const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

void describe('cashback status from cashback.v1, against Kafka and MariaDB', { timeout: 90_000 }, () => {
  const topic = `koban-test.cashback-status.${randomUUID()}`;
  const groupId = `koban-test-cashback-status-${randomUUID()}`;
  const kafka = createKafka({ clientId: 'payment-cashback-status-test', brokers, logger });
  let h: Harness;
  let producer: EventProducer;
  let consumer: BackgroundConsumer;
  /** Each event the handler was given, and whether applying it threw. */
  const attempts: { eventId: string; failed: boolean }[] = [];

  before(async () => {
    h = await startHarness();
    h.campaign.pointsFor = (request) => Math.floor(Number(request.amount) / 100);
    producer = createEventProducer(kafka, { logger });
    await producer.connect();
    const handler: EventHandler = async (event, tx) => {
      try {
        await h.app.cashbackStatusHandler(event, tx);
        attempts.push({ eventId: event.eventId, failed: false });
      } catch (error) {
        attempts.push({ eventId: event.eventId, failed: true });
        throw error;
      }
    };
    // One partition (created by the consumer as it would create cashback.v1): events are
    // applied in the order they are produced.
    consumer = startCashbackStatusConsumer({
      kafka,
      db: h.db,
      handler,
      logger,
      topic,
      groupId,
      partitions: 1,
      replicationFactor: 1,
      maxWaitTimeInMs: 100,
      retry: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    await consumer.ready;
  });

  after(async () => {
    try {
      await consumer?.stop();
      await producer?.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.deleteGroups([groupId]).catch(() => undefined);
        await admin.deleteTopics({ topics: [topic] });
      } finally {
        await admin.disconnect();
      }
    } finally {
      await h?.close();
    }
  });

  /** A completed payment whose cashback is PENDING: campaign-promo was down when it was paid. */
  async function pendingPayment(amount = 3_000) {
    const payer = h.newUser(100_000);
    const merchant = h.newMerchant();
    h.campaign.down = true;
    try {
      const { payment } = await h.client.createPayment({
        idempotencyKey: newKey(),
        callerId: payer.userId,
        payerUserId: payer.userId,
        merchantId: merchant.merchantId,
        amount,
        currency: 'JPY',
      });
      assert.equal(payment?.status, 'PAYMENT_STATUS_COMPLETED');
      assert.equal(payment.cashback?.status, 'CASHBACK_STATUS_PENDING');
      return { payer, merchant, paymentId: payment.paymentId };
    } finally {
      h.campaign.down = false;
    }
  }

  /** Publishes a CashbackGranted as campaign-promo's relay does; answers its offset. */
  async function publishGranted(
    fields: { paymentId: string; pointsAccountId: string; points: number; campaignId?: string },
    eventId = randomUUID(),
  ): Promise<string> {
    const envelope = buildEnvelope(
      'cashbackGranted',
      {
        paymentId: fields.paymentId,
        userId: 'usr',
        pointsAccountId: fields.pointsAccountId,
        campaignId: fields.campaignId ?? (fields.points > 0 ? 'cmp_late' : ''),
        points: String(fields.points),
        ledgerTransferId: fields.points > 0 ? `cashback_${fields.paymentId}` : '',
        deferred: true,
      },
      { key: fields.pointsAccountId, producer: 'campaign-promo', eventId },
    );
    const { offset } = await producer.publish({
      topic,
      key: fields.pointsAccountId,
      value: encodeEnvelope(envelope),
      eventId,
    });
    return offset;
  }

  /** Waits until the group has committed past `offset`: the event was applied or skipped. */
  async function consumedThrough(offset: string): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await eventually(async () => {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const at = committed?.partitions.find((p) => p.partition === 0)?.offset ?? '-1';
        return BigInt(at) > BigInt(offset) ? true : undefined;
      }, 20_000);
    } finally {
      await admin.disconnect();
    }
  }

  const cashbackOf = async (paymentId: string) =>
    (await h.client.getPayment({ paymentId })).payment?.cashback;

  void it('turns a PENDING cashback GRANTED with its points, once however often the grant is delivered', async () => {
    const { payer, paymentId } = await pendingPayment();
    const grant = { paymentId, pointsAccountId: payer.pointsAccountId, points: 30 };
    const eventId = randomUUID();
    await publishGranted(grant, eventId);
    // Delivered again (a producer retry or a rebalance): the same event id.
    await publishGranted(grant, eventId);
    // A later grant event for the same payment, under another id, finds the cashback decided.
    const last = await publishGranted({ ...grant, points: 99, campaignId: 'cmp_other' });
    await consumedThrough(last);

    assert.deepEqual(await cashbackOf(paymentId), {
      status: 'CASHBACK_STATUS_GRANTED',
      points: '30',
      campaignId: 'cmp_late',
    });
    const processed = await h.rows(
      'SELECT COUNT(*) AS n FROM processed_events WHERE consumer_group = ? AND event_id = ?',
      [groupId, eventId],
    );
    assert.equal(Number(processed[0]?.['n']), 1);
    assert.equal(
      attempts.filter((attempt) => attempt.eventId === eventId && !attempt.failed).length,
      1,
      'the handler applied the twice-delivered event once',
    );
  });

  void it('turns a PENDING cashback NONE when the late grant came to nothing', async () => {
    const { payer, paymentId } = await pendingPayment();
    await consumedThrough(
      await publishGranted({ paymentId, pointsAccountId: payer.pointsAccountId, points: 0 }),
    );
    assert.deepEqual(await cashbackOf(paymentId), {
      status: 'CASHBACK_STATUS_NONE',
      points: '0',
      campaignId: '',
    });
  });

  void it('leaves cashback decided with the payment as it was', async () => {
    const payer = h.newUser(100_000);
    const merchant = h.newMerchant();
    const { payment } = await h.client.createPayment({
      idempotencyKey: newKey(),
      callerId: payer.userId,
      payerUserId: payer.userId,
      merchantId: merchant.merchantId,
      amount: 2_500,
      currency: 'JPY',
    });
    assert.equal(payment?.cashback?.status, 'CASHBACK_STATUS_GRANTED');
    await consumedThrough(
      await publishGranted({
        paymentId: payment.paymentId,
        pointsAccountId: payer.pointsAccountId,
        points: 99,
      }),
    );
    assert.deepEqual(await cashbackOf(payment.paymentId), payment.cashback);
  });

  void it('grants the full points after a refund and its clawback came first; the clawback stays on the refund', async () => {
    const { payer, merchant, paymentId } = await pendingPayment(2_000);
    const { refund } = await h.client.createRefund({
      idempotencyKey: newKey(),
      callerId: merchant.merchantId,
      paymentId,
      amount: 1_000,
    });
    assert.equal(refund?.status, 'REFUND_STATUS_COMPLETED');
    // campaign-promo took back the refunded half once the grant was recorded, and its
    // CashbackClawedBack may overtake the CashbackGranted.
    const clawbackId = randomUUID();
    await producer.publish({
      topic,
      key: payer.pointsAccountId,
      eventId: clawbackId,
      value: encodeEnvelope(
        buildEnvelope(
          'cashbackClawedBack',
          {
            refundId: refund.refundId,
            paymentId,
            pointsAccountId: payer.pointsAccountId,
            campaignId: 'cmp_late',
            points: '10',
          },
          { key: payer.pointsAccountId, producer: 'campaign-promo', eventId: clawbackId },
        ),
      ),
    });
    await consumedThrough(
      await publishGranted({ paymentId, pointsAccountId: payer.pointsAccountId, points: 20 }),
    );
    assert.deepEqual(await cashbackOf(paymentId), {
      status: 'CASHBACK_STATUS_GRANTED',
      points: '20',
      campaignId: 'cmp_late',
    });
  });

  void it('holds a grant that arrives before the payment recorded its cashback, and applies it once the payment completes PENDING', async () => {
    const payer = h.newUser(100_000);
    const merchant = h.newMerchant();
    const request = {
      idempotencyKey: newKey(),
      callerId: payer.userId,
      payerUserId: payer.userId,
      merchantId: merchant.merchantId,
      amount: 4_000,
      currency: 'JPY',
    };
    // The money moved but its answer was lost: the payment stays PENDING, its cashback undecided.
    h.ledger.loseTransferAnswers = true;
    try {
      await assert.rejects(h.client.createPayment(request), { code: 'service_unavailable' });
    } finally {
      h.ledger.loseTransferAnswers = false;
    }
    const [row] = await h.rows('SELECT payment_id, status FROM payments WHERE idempotency_key = ?', [
      request.idempotencyKey,
    ]);
    const paymentId = String(row?.['payment_id']);
    assert.equal(row?.['status'], 'PENDING');

    const eventId = randomUUID();
    await publishGranted({ paymentId, pointsAccountId: payer.pointsAccountId, points: 40 }, eventId);
    await eventually(() =>
      Promise.resolve(
        attempts.some((attempt) => attempt.eventId === eventId && attempt.failed) ? true : undefined,
      ),
    );
    const recorded = await h.rows('SELECT 1 FROM processed_events WHERE event_id = ?', [eventId]);
    assert.equal(recorded.length, 0, 'not recorded as processed while the payment is PENDING');

    // The sweeper completes it; campaign-promo is down, so its cashback is recorded PENDING.
    h.campaign.down = true;
    try {
      await h.app.sweeper.runOnce();
    } finally {
      h.campaign.down = false;
    }
    const [completed] = await h.rows('SELECT status FROM payments WHERE payment_id = ?', [paymentId]);
    assert.equal(completed?.['status'], 'COMPLETED');

    const cashback = await eventually(async () => {
      const shown = await cashbackOf(paymentId);
      return shown?.status === 'CASHBACK_STATUS_GRANTED' ? shown : undefined;
    }, 20_000);
    assert.deepEqual(cashback, { status: 'CASHBACK_STATUS_GRANTED', points: '40', campaignId: 'cmp_late' });
  });
});
