import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DomainError,
  GrpcCallError,
  createGrpcClient,
  createLogger,
  createRedis,
  loadProtos,
  openDatabase,
  parseConfig,
  type Db,
  type GrpcClient,
  type GrpcServer,
  type RedisClient,
} from '@koban/platform';
import { configSchema, fraudLimits } from '../src/config.js';
import { createFraudServer } from '../src/fraud-server.js';
import type { FraudServiceDefinition } from '../src/scoring/fraud-grpc.js';

const mysql = {
  host: process.env['MYSQL_HOST'] ?? '127.0.0.1',
  port: Number(process.env['MYSQL_PORT'] ?? 3306),
  user: process.env['MYSQL_USER'] ?? 'root',
  password: process.env['MYSQL_PASSWORD'] ?? '',
};
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const logger = createLogger({ service: 'fraud-test', level: 'silent' });
// The defaults a fresh start has (API.md): 120 payments a minute, decline above ¥1,000,000,
// review above ¥300,000.
const limits = fraudLimits(parseConfig('fraud', configSchema, {}));

type FraudClient = GrpcClient<FraudServiceDefinition>;

/** A served fraud service and a client of it. */
interface Served {
  client: FraudClient;
  close(): Promise<void>;
}

async function serve(db: Db, redis: RedisClient, now: () => number = Date.now): Promise<Served> {
  const server: GrpcServer = createFraudServer({ db, redis, logger, limits, now });
  const port = await server.listen(0);
  const client = createGrpcClient(loadProtos().koban.fraud.v1.FraudService, `127.0.0.1:${port}`, {
    timeoutMs: 2_000,
  });
  return {
    client,
    close: async () => {
      client.close();
      await server.shutdown(1_000);
    },
  };
}

/** A payment of a fresh user unless told otherwise. */
function payment(overrides: { paymentId?: string; userId?: string; amount?: string } = {}) {
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
  const database = `koban_test_${randomBytes(6).toString('hex')}`;
  // A clock the tests move: the velocity window slides on it.
  let nowMs = Date.now();
  let db: Db;
  let redis: RedisClient;
  let served: Served;
  let client: FraudClient;

  before(async () => {
    db = await openDatabase({
      ...mysql,
      database,
      poolSize: 4,
      logger,
      migrationsDir: fileURLToPath(new URL('../migrations/', import.meta.url)),
    });
    redis = createRedis({ url: redisUrl, logger });
    await redis.connect();
    served = await serve(db, redis, () => nowMs);
    client = served.client;
  });

  after(async () => {
    await served?.close();
    await redis?.close();
    await db?.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await db?.close();
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

  void it('answers the card lockout RPCs as not implemented yet', async () => {
    for (const call of [
      () => client.recordCardCheck({ userId: 'u', result: 'CARD_CHECK_RESULT_WRONG_CVC' }),
      () => client.getLockoutState({ userId: 'u' }),
    ]) {
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof GrpcCallError);
        assert.equal(error.code, 12);
        assert.equal(error.details, 'arrives with card lockout');
        return true;
      });
    }
  });

  void it('still answers within budget when Redis is unreachable, without the velocity rule', async () => {
    const unreachable = createRedis({ url: 'redis://127.0.0.1:1', logger });
    unreachable.connect().catch(() => undefined);
    const degraded = await serve(db, unreachable);
    try {
      const started = Date.now();
      const response = await degraded.client.score(payment());
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
      await unreachable.close();
    }
  });
});
