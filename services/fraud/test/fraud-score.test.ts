import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, type Db } from '@koban/platform';
import {
  createTestDatabase,
  serveFraud,
  testKeyPrefix,
  uniqueId,
  uniqueIp,
  unreachableRedisUrl,
  type FraudClient,
  type FraudUnderTest,
} from './support/fraud-harness.js';

/** A payment of a fresh user unless told otherwise. */
function payment(
  overrides: Partial<{
    paymentId: string;
    userId: string;
    merchantId: string;
    amount: string;
    method: 'PAYMENT_METHOD_WALLET' | 'PAYMENT_METHOD_CARD';
    cardFingerprint: string;
    clientIp: string;
  }> = {},
) {
  return {
    paymentId: randomUUID(),
    userId: `user-${randomUUID()}`,
    merchantId: 'merchant-1',
    amount: '1500',
    currency: 'JPY',
    method: 'PAYMENT_METHOD_WALLET' as const,
    ...overrides,
  };
}

void describe('FraudService.Score over gRPC, against MariaDB and Redis', () => {
  // A clock the tests move: the velocity windows slide on it.
  let nowMs = Date.now();
  let schema: { db: Db; drop(): Promise<void> };
  let db: Db;
  const keyPrefix = testKeyPrefix();
  let served: FraudUnderTest;
  let client: FraudClient;

  before(async () => {
    schema = await createTestDatabase();
    db = schema.db;
    // The defaults a fresh start has (API.md): 120 payments a minute, decline above ¥1,000,000,
    // review above ¥300,000; a low IP limit to see it.
    served = await serveFraud({
      db,
      keyPrefix,
      now: () => nowMs,
      env: { FRAUD_MAX_IP_PAYMENTS_PER_MINUTE: '5' },
    });
    client = served.client;
  });

  after(async () => {
    try {
      await served?.close();
    } finally {
      await schema?.drop();
    }
  });

  const decisionRows = (paymentId: string) =>
    db.query('SELECT outcome, score, reasons FROM fraud_decisions WHERE payment_id = ?', [paymentId]);

  void it('approves an ordinary payment with a low score and records it', async () => {
    const request = payment();
    const response = await client.score(request);
    assert.equal(response.decision, 'DECISION_ALLOW');
    assert.deepEqual(response.reasons, []);
    assert.ok(response.score < 500, `score ${response.score}`);
    assert.equal(response.features?.userPaymentsLastMinute, '1');
    const rows = await decisionRows(request.paymentId);
    assert.deepEqual(
      rows.map((row) => row['outcome'] as unknown),
      ['approve'],
    );
  });

  void it('declines an amount above the decline limit', async () => {
    const response = await client.score(payment({ amount: '1000001' }));
    assert.equal(response.decision, 'DECISION_DECLINE');
    assert.deepEqual(response.reasons, ['amount_limit']);
    assert.equal(response.score, 1000);
  });

  void it('approves the review band with the review reason, for the record', async () => {
    for (const amount of ['300001', '1000000']) {
      const request = payment({ amount });
      const response = await client.score(request);
      assert.equal(response.decision, 'DECISION_ALLOW', amount);
      assert.deepEqual(response.reasons, ['amount_review'], amount);
      assert.ok(response.score >= 500 && response.score < 1000, `score ${response.score}`);
      const [row] = await decisionRows(request.paymentId);
      assert.deepEqual(
        { outcome: row?.['outcome'] as unknown, reasons: row?.['reasons'] as unknown },
        {
          outcome: 'review',
          reasons: 'amount_review',
        },
      );
    }
    assert.deepEqual((await client.score(payment({ amount: '300000' }))).reasons, []);
  });

  void it("declines a user's 121st payment within 60 s while another user is approved", async () => {
    const busy = `user-${randomUUID()}`;
    for (let n = 1; n <= 120; n += 1) {
      const response = await client.score(payment({ userId: busy }));
      assert.equal(response.decision, 'DECISION_ALLOW', `payment ${n}`);
      assert.equal(response.features?.userPaymentsLastMinute, String(n));
    }
    const over = await client.score(payment({ userId: busy }));
    assert.equal(over.decision, 'DECISION_DECLINE');
    assert.deepEqual(over.reasons, ['velocity_user']);
    assert.equal(over.features?.userPaymentsLastMinute, '121');

    const other = await client.score(payment());
    assert.equal(other.decision, 'DECISION_ALLOW');
    assert.equal(other.features?.userPaymentsLastMinute, '1');

    // The window slides: a minute later the user pays again.
    nowMs += 60_001;
    const later = await client.score(payment({ userId: busy }));
    assert.equal(later.decision, 'DECISION_ALLOW');
    assert.equal(later.features?.userPaymentsLastMinute, '1');
  });

  void it('answers a payment scored twice with the decision recorded first, counted once', async () => {
    const request = payment();
    const first = await client.score(request);
    // The retry differs (a bigger amount) but the payment was decided: the record stands.
    const again = await client.score({ ...request, amount: '5000000' });
    assert.deepEqual(again, first);
    assert.equal(again.decision, 'DECISION_ALLOW');

    // Concurrent first attempts of one payment agree on one decision and one row.
    const racing = payment();
    const answers = await Promise.all(Array.from({ length: 5 }, () => client.score(racing)));
    for (const answer of answers) assert.deepEqual(answer, answers[0]);
    assert.equal(answers[0]?.features?.userPaymentsLastMinute, '1');
    assert.equal((await decisionRows(racing.paymentId)).length, 1);
    assert.equal((await decisionRows(request.paymentId)).length, 1);
  });

  void it('rejects a request that cannot be scored as invalid_request naming the fields', async () => {
    await assert.rejects(
      client.score({ ...payment(), paymentId: '', amount: '-5', currency: 'USD' }),
      (error: unknown) => {
        assert.ok(error instanceof DomainError);
        assert.equal(error.code, 'invalid_request');
        assert.equal(error.status, 3);
        assert.deepEqual(Object.keys(error.details?.['fields'] ?? {}).sort(), [
          'amount',
          'currency',
          'paymentId',
        ]);
        return true;
      },
    );
  });

  void it("declines a card's 121st payment within 60 s across users", async () => {
    const cardFingerprint = uniqueId('fp');
    for (let n = 1; n <= 120; n += 1) {
      const response = await client.score(payment({ method: 'PAYMENT_METHOD_CARD', cardFingerprint }));
      assert.equal(response.decision, 'DECISION_ALLOW', `payment ${n}`);
    }
    const over = await client.score(payment({ method: 'PAYMENT_METHOD_CARD', cardFingerprint }));
    assert.equal(over.decision, 'DECISION_DECLINE');
    assert.deepEqual(over.reasons, ['velocity_card']);
    assert.equal(over.features?.userPaymentsLastMinute, '1');
    // A wallet payment's stray fingerprint is no card payment: it does not count.
    const wallet = await client.score(payment({ cardFingerprint }));
    assert.equal(wallet.decision, 'DECISION_ALLOW');
  });

  void it('flags, never declines, the payments from one client IP beyond its limit', async () => {
    const clientIp = uniqueIp();
    for (let n = 1; n <= 5; n += 1) {
      assert.deepEqual((await client.score(payment({ clientIp }))).reasons, [], `payment ${n}`);
    }
    const sixth = payment({ clientIp: `::ffff:${clientIp}` });
    const over = await client.score(sixth);
    assert.equal(over.decision, 'DECISION_ALLOW');
    assert.deepEqual(over.reasons, ['velocity_ip']);
    assert.ok(over.score >= 500, `score ${over.score}`);
    const [row] = await db.query(
      'SELECT outcome, client_ip, features FROM fraud_decisions WHERE payment_id = ?',
      [sixth.paymentId],
    );
    assert.equal(row?.['outcome'], 'review');
    assert.equal(row?.['client_ip'], clientIp);
    assert.equal(
      (JSON.parse(String(row?.['features'])) as { ipPaymentsLastMinute: number }).ipPaymentsLastMinute,
      6,
    );
  });

  void it("answers the features it used and counts the merchant's payments", async () => {
    const merchantId = uniqueId('merchant');
    await client.score(payment({ merchantId }));
    const second = await client.score(payment({ merchantId }));
    assert.deepEqual(second.features, {
      userPaymentsLastMinute: '1',
      userAmountLastDay: '0',
      userMerchantsLastDay: '0',
      merchantPaymentsLastMinute: '2',
      firstPaymentToMerchant: true,
      userCvcFailuresLastHour: '0',
    });
  });

  void it('still answers within budget when Redis is unreachable, without the velocity rule', async () => {
    const degraded = await serveFraud({ db, keyPrefix, redisUrl: unreachableRedisUrl });
    try {
      const started = Date.now();
      const response = await degraded.client.score(
        payment({ method: 'PAYMENT_METHOD_CARD', cardFingerprint: 'fp-1' }),
      );
      const elapsedMs = Date.now() - started;
      assert.equal(response.decision, 'DECISION_ALLOW');
      assert.deepEqual(response.reasons, ['velocity_unavailable']);
      assert.equal(response.features?.userPaymentsLastMinute, '0');
      assert.ok(elapsedMs < 300, `answered in ${elapsedMs} ms`);

      const large = await degraded.client.score(payment({ amount: '2000000' }));
      assert.equal(large.decision, 'DECISION_DECLINE');
      assert.deepEqual(large.reasons, ['velocity_unavailable', 'amount_limit']);
    } finally {
      await degraded.close();
    }
  });
});
