// The features consumer against real Kafka: completed payments produced to a topic of the test's
// own (so that the platform's running fraud service never sees them) feed the profiles that
// Score then uses.
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildEnvelope,
  createEventProducer,
  createKafka,
  createLogger,
  createRedis,
  encodeEnvelope,
  toTimestamp,
  type Db,
  type EventProducer,
  type RedisClient,
} from '@koban/platform';
import { startProfileConsumer, type ProfileConsumer } from '../src/profile/profile-consumer.js';
import { createSpendWindow } from '../src/profile/spend-window.js';
import { createDecisionStore } from '../src/scoring/decision-store.js';
import { SPEND_WINDOW_MS } from '../src/scoring/fraud-rules.js';
import {
  createTestDatabase,
  eventually,
  kafkaBrokers,
  redisUrl,
  serveFraud,
  testKeyPrefix,
  uniqueId,
  type FraudUnderTest,
} from './support/fraud-harness.js';

const logger = createLogger({ service: 'fraud-test', level: 'silent' });

void describe('features from payments.v1, against Kafka, MariaDB and Redis', () => {
  const topic = `koban-test.fraud-features.${randomUUID()}`;
  const groupId = `koban-test-fraud-features-${randomUUID()}`;
  const keyPrefix = testKeyPrefix();
  const kafka = createKafka({ clientId: 'fraud-features-test', brokers: kafkaBrokers, logger });
  let schema: { db: Db; drop(): Promise<void> };
  let db: Db;
  let redis: RedisClient;
  let producer: EventProducer;
  let consumer: ProfileConsumer;
  let fraud: FraudUnderTest;

  before(async () => {
    schema = await createTestDatabase();
    db = schema.db;
    redis = createRedis({ url: redisUrl, logger });
    await redis.connect();
    const admin = kafka.admin();
    await admin.connect();
    try {
      // One partition: the events are applied in the order they were produced.
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    producer = createEventProducer(kafka, { logger });
    await producer.connect();
    // The consumer shares the server's fraud→redis policy, as in main.ts.
    fraud = await serveFraud({ db, keyPrefix });
    consumer = startProfileConsumer({
      kafka,
      db,
      decisions: createDecisionStore(db),
      spend: createSpendWindow({
        redis,
        policy: fraud.redisPolicy,
        logger,
        windowMs: SPEND_WINDOW_MS,
        keyPrefix,
      }),
      logger,
      alpha: 0.1,
      topic,
      groupId,
      partitions: 1,
      replicationFactor: 1,
      maxWaitTimeInMs: 100,
    });
  });

  after(async () => {
    try {
      await fraud?.close();
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
      await redis?.close();
      await schema?.drop();
    }
  });

  /** A PaymentCompleted envelope as payment's relay publishes it. */
  function completed(fields: { paymentId?: string; userId: string; merchantId?: string; amount: number }) {
    const accountId = `acc-${fields.userId}`;
    return buildEnvelope(
      'paymentCompleted',
      {
        paymentId: fields.paymentId ?? uniqueId('pay'),
        payerUserId: fields.userId,
        payerAccountId: accountId,
        merchantId: fields.merchantId ?? 'merchant-1',
        amount: String(fields.amount),
        currency: 'JPY',
        method: 'PAYMENT_METHOD_WALLET',
        completedAt: toTimestamp(Date.now()),
      },
      { key: accountId, producer: 'payment' },
    );
  }

  const publish = (envelope: ReturnType<typeof completed>) =>
    producer.publish({
      topic,
      key: envelope.key ?? null,
      value: encodeEnvelope(envelope),
      eventId: envelope.eventId ?? '',
    });

  const profileOf = async (userId: string) => {
    const [row] = await db.query(
      'SELECT payments, amount_mean, amount_variance FROM user_profiles WHERE user_id = ?',
      [userId],
    );
    return row === undefined
      ? undefined
      : {
          payments: Number(row['payments']),
          mean: Number(row['amount_mean']),
          variance: Number(row['amount_variance']),
        };
  };

  /** Waits until the consumer applied everything produced so far: a marker event behind it. */
  async function drained(): Promise<void> {
    const marker = uniqueId('marker');
    await publish(completed({ userId: marker, amount: 1 }));
    await eventually(async () => assert.equal((await profileOf(marker))?.payments, 1), 30_000);
  }

  void it('applies a PaymentCompleted once, even when it is delivered twice', async () => {
    const userId = uniqueId('user');
    const merchantId = uniqueId('merchant');
    const event = completed({ userId, merchantId, amount: 2_400 });
    await publish(event);
    await publish(event);
    await drained();

    assert.deepEqual(await profileOf(userId), { payments: 1, mean: 2_400, variance: 0 });
    const merchants = await db.query('SELECT payments FROM user_merchants WHERE user_id = ?', [userId]);
    assert.deepEqual(
      merchants.map((row) => Number(row['payments'])),
      [1],
    );
    const processed = await db.query(
      'SELECT 1 FROM processed_events WHERE consumer_group = ? AND event_id = ?',
      [groupId, event.eventId],
    );
    assert.equal(processed.length, 1);
    // The 24 h spend window counted it once too, and Score answers it.
    await eventually(async () => {
      const response = await fraud.client.score({
        paymentId: uniqueId('pay'),
        userId,
        merchantId,
        amount: '100',
        currency: 'JPY',
      });
      assert.equal(response.features?.userAmountLastDay, '2400');
      assert.equal(response.features?.userMerchantsLastDay, '1');
      assert.equal(response.features?.firstPaymentToMerchant, false);
    });
  });

  void it("declines an amount far above the user's history, and approves the usual ones", async () => {
    const userId = uniqueId('user');
    const amounts = [900, 1_100, 1_000, 950, 1_050, 1_000, 1_200, 800, 1_000, 1_000, 1_000, 950];
    for (const amount of amounts) await publish(completed({ userId, amount }));
    await drained();
    const profile = await profileOf(userId);
    assert.equal(profile?.payments, amounts.length);
    assert.ok(profile !== undefined && Math.abs(profile.mean - 1_000) < 100, `mean ${profile?.mean}`);

    const score = (amount: number) =>
      fraud.client.score({
        paymentId: uniqueId('pay'),
        userId,
        merchantId: 'merchant-1',
        amount: String(amount),
        currency: 'JPY',
      });
    const usual = await score(1_300);
    assert.equal(usual.decision, 'DECISION_ALLOW');
    assert.deepEqual(usual.reasons, []);
    const outlier = await score(80_000);
    assert.equal(outlier.decision, 'DECISION_DECLINE');
    assert.deepEqual(outlier.reasons, ['amount_outlier']);
    // A user without that history pays the same amount unremarked.
    const newcomer = await fraud.client.score({
      paymentId: uniqueId('pay'),
      userId: uniqueId('user'),
      merchantId: 'merchant-1',
      amount: '80000',
      currency: 'JPY',
    });
    assert.equal(newcomer.decision, 'DECISION_ALLOW');
    assert.deepEqual(newcomer.reasons, []);
  });

  void it('learns the card a completed payment was scored with, so that it is no longer new', async () => {
    const userId = uniqueId('user');
    const cardFingerprint = uniqueId('fp');
    for (let n = 0; n < 10; n += 1) await publish(completed({ userId, amount: 1_000 }));
    const cardPayment = {
      paymentId: uniqueId('pay'),
      userId,
      merchantId: 'merchant-1',
      amount: '1000',
      currency: 'JPY',
      method: 'PAYMENT_METHOD_CARD' as const,
      cardFingerprint,
    };
    await drained();
    const first = await fraud.client.score(cardPayment);
    assert.deepEqual(first.reasons, ['new_card']);
    await publish(completed({ userId, paymentId: cardPayment.paymentId, amount: 1_000 }));
    await drained();
    const cards = await db.query('SELECT card_fingerprint FROM user_cards WHERE user_id = ?', [userId]);
    assert.deepEqual(
      cards.map((row) => row['card_fingerprint'] as unknown),
      [cardFingerprint],
    );
    const again = await fraud.client.score({ ...cardPayment, paymentId: uniqueId('pay') });
    assert.deepEqual(again.reasons, []);
  });

  void it('starts while Kafka is unreachable and stops without waiting for it', async () => {
    const away = startProfileConsumer({
      kafka: createKafka({ clientId: 'fraud-features-test', brokers: ['127.0.0.1:1'], logger }),
      db,
      decisions: createDecisionStore(db),
      spend: createSpendWindow({
        redis,
        policy: fraud.redisPolicy,
        logger,
        windowMs: SPEND_WINDOW_MS,
        keyPrefix,
      }),
      logger,
      alpha: 0.1,
      topic,
      groupId: `${groupId}-away`,
      partitions: 1,
      replicationFactor: 1,
      retryDelayMs: { initial: 50, max: 200 },
    });
    // Scoring goes on meanwhile.
    const response = await fraud.client.score({
      paymentId: uniqueId('pay'),
      userId: uniqueId('user'),
      merchantId: 'merchant-1',
      amount: '1000',
      currency: 'JPY',
    });
    assert.equal(response.decision, 'DECISION_ALLOW');
    const started = Date.now();
    await away.stop();
    assert.ok(Date.now() - started < 3_000, `stopped in ${Date.now() - started} ms`);
  });
});
