// The stores going away under steady payment traffic (ARCHITECTURE.md, "any → Redis" and
// "any → Kafka", and the database): Redis shut down for 20 s (its data gone, as this machine's
// Redis keeps nothing on disk), the Kafka broker stopped for 30 s, and the database (MariaDB,
// TiDB's local stand-in) shut down for 15 s. Each payment key is sent twice at once, as a
// client retrying over a flaky network would, so the durable idempotency path is what stops a
// double charge while Redis is away. Both stores are started again in `finally`.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { Kafka, logLevel } from 'kafkajs';
import { decodeEnvelope, topics } from '@koban/platform';
import {
  createMerchant,
  createUser,
  creditWallet,
  eventually,
  gatewayUrl,
  mapLimited,
  merchantBalance,
  newKey,
  userBalance,
  type TestMerchant,
  type TestUser,
} from '../support/api-client.js';
import { assertLedgerInvariants } from '../support/ledger-invariants.js';
import {
  breaker,
  latencySummary,
  localInfra,
  payMerchant,
  stopDatabase,
  stopRedis,
  timed,
} from '../support/resilience.js';
import { waitForHealthy } from '../support/platform.js';

const AMOUNT = 10;
const FUNDS = 100_000;

after(async () => {
  await assertLedgerInvariants();
});

async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups([groupId]);
  } finally {
    await admin.disconnect();
  }
}

function database() {
  return mysql.createConnection({
    host: process.env.MYSQL_HOST ?? '127.0.0.1',
    port: Number(process.env.MYSQL_PORT ?? 3306),
    user: process.env.MYSQL_USER ?? 'root',
    password: process.env.MYSQL_PASSWORD ?? '',
  });
}

/** What the traffic saw: every key sent, and per key the payment ids its 201s named. */
interface TrafficRecord {
  keys: Map<string, TestUser>;
  paymentIds: Map<string, Set<string>>;
  statuses: Map<number, number>;
  latencies: number[];
}

/**
 * Payments from `users` (in turn, so no user nears the fraud velocity limit) to `shop` until
 * `stop()`: each key sent twice at once. Returns the record and a stop function.
 */
function steadyTraffic(users: TestUser[], shop: TestMerchant, workers: number) {
  const record: TrafficRecord = {
    keys: new Map(),
    paymentIds: new Map(),
    statuses: new Map(),
    latencies: [],
  };
  let running = true;
  let turn = 0;
  const worker = async () => {
    while (running) {
      const user = users[turn % users.length];
      turn += 1;
      const key = newKey();
      record.keys.set(key, user);
      const twins = await Promise.all(
        [0, 1].map(() =>
          timed(() => payMerchant(user, shop, AMOUNT, key)).catch((error: unknown) => ({ error, ms: 0 })),
        ),
      );
      for (const twin of twins) {
        if ('error' in twin) {
          record.statuses.set(0, (record.statuses.get(0) ?? 0) + 1);
          continue;
        }
        const { value, ms } = twin;
        record.statuses.set(value.status, (record.statuses.get(value.status) ?? 0) + 1);
        record.latencies.push(ms);
        if (value.status === 201) {
          const ids = record.paymentIds.get(key) ?? new Set<string>();
          ids.add(value.body.paymentId);
          record.paymentIds.set(key, ids);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker));
  return {
    record,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/**
 * After the outage: every key sent is retried until it answers 201, and must name the one payment
 * any earlier 201 named; then each user's debits and the shop's takings equal the distinct keys
 * paid, and payment holds exactly one row per key.
 */
async function assertEachKeyPaidOnce(
  record: TrafficRecord,
  users: TestUser[],
  shop: TestMerchant,
  shopBefore: number,
) {
  const finalIds = await mapLimited([...record.keys], 4, async ([key, user]) => {
    let paymentId = '';
    await eventually(`key ${key} settled`, 60_000, async () => {
      const retried = await payMerchant(user, shop, AMOUNT, key);
      if (retried.status === 503 || retried.status === 409) return false;
      assert.equal(retried.status, 201, JSON.stringify(retried.body));
      assert.equal(retried.body.status, 'COMPLETED', JSON.stringify(retried.body));
      paymentId = retried.body.paymentId;
      return true;
    });
    const seen = record.paymentIds.get(key) ?? new Set<string>();
    assert.ok(seen.size <= 1, `key ${key} answered ${seen.size} different payments`);
    if (seen.size === 1) assert.ok(seen.has(paymentId), `key ${key} changed its payment after the outage`);
    return paymentId;
  });
  assert.equal(new Set(finalIds).size, record.keys.size, 'one payment per key');

  const paidBy = new Map<string, number>();
  for (const user of record.keys.values()) paidBy.set(user.userId, (paidBy.get(user.userId) ?? 0) + 1);
  for (const user of users) {
    assert.equal((await userBalance(user)).available, FUNDS - AMOUNT * (paidBy.get(user.userId) ?? 0));
  }
  assert.equal(await merchantBalance(shop), shopBefore + AMOUNT * record.keys.size);

  const connection = await database();
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM koban_payment.payments WHERE merchant_id = ?',
      [shop.merchantId],
    );
    assert.equal(Number(rows[0]?.n), record.keys.size, 'payment rows, one per key');
  } finally {
    await connection.end();
  }
}

async function fundedUsers(count: number): Promise<TestUser[]> {
  return mapLimited(Array.from({ length: count }), 4, async () => {
    const user = await createUser();
    await creditWallet(user.userId, FUNDS);
    return user;
  });
}

const describeStatuses = (statuses: Map<number, number>) =>
  [...statuses].map(([status, n]) => `${status === 0 ? 'network error' : status}×${n}`).join(' ');

describe('Redis stopped for 20 s under steady traffic', () => {
  it('charges no payment twice and loses none', async () => {
    const users = await fundedUsers(12);
    const shop = await createMerchant();
    const shopBefore = await merchantBalance(shop);

    const before = steadyTraffic(users, shop, 4);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await before.stop();
    const during = steadyTraffic(users, shop, 4);
    try {
      await stopRedis();
      await new Promise((resolve) => setTimeout(resolve, 20_000));
    } finally {
      await localInfra('ensure');
    }
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await during.stop();
    await waitForHealthy();

    const keysDuring = during.record.keys.size;
    const paidDuring = [...during.record.paymentIds.keys()].length;
    console.log(
      `[resilience] Redis outage: ${keysDuring} keys sent twice each, ${paidDuring} answered 201 at the time; answers: ${describeStatuses(during.record.statuses)}; ${latencySummary(during.record.latencies)}`,
    );
    assert.ok(keysDuring >= 20, `steady traffic kept going (${keysDuring} keys)`);
    assert.ok(paidDuring > 0, 'payments went through while Redis was down');

    const record: TrafficRecord = {
      keys: new Map([...before.record.keys, ...during.record.keys]),
      paymentIds: new Map([...before.record.paymentIds, ...during.record.paymentIds]),
      statuses: new Map(),
      latencies: [],
    };
    await assertEachKeyPaidOnce(record, users, shop, shopBefore);
  });
});

describe('Kafka broker stopped for 30 s under steady traffic', () => {
  it('keeps payments going, then delivers every event and drains the outbox', async () => {
    const users = await fundedUsers(8);
    const shop = await createMerchant();
    const shopBefore = await merchantBalance(shop);
    const kafka = new Kafka({
      clientId: 'e2e-kafka-outage',
      brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    const startOffsets = await admin.fetchTopicOffsets(topics.payments);
    await admin.disconnect();

    const traffic = steadyTraffic(users, shop, 2);
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await localInfra('stop-kafka');
      await new Promise((resolve) => setTimeout(resolve, 30_000));
    } finally {
      await localInfra('ensure');
    }
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await traffic.stop();
    const { record } = traffic;
    console.log(
      `[resilience] Kafka outage: ${record.keys.size} keys; answers: ${describeStatuses(record.statuses)}; ${latencySummary(record.latencies)}`,
    );
    // Kafka is not on the payment path: every key was paid at the time (201 or its twin's 409).
    assert.deepEqual(
      [...record.statuses.keys()].filter((status) => status !== 201 && status !== 409),
      [],
      'payments kept answering during the broker outage',
    );
    assert.equal(record.paymentIds.size, record.keys.size, 'every key was paid while Kafka was down');
    await assertEachKeyPaidOnce(record, users, shop, shopBefore);

    const connection = await database();
    try {
      await eventually('the outbox drained', 120_000, async () => {
        const [rows] = await connection.query<mysql.RowDataPacket[]>(
          'SELECT COUNT(*) AS n FROM koban_payment.outbox WHERE sent_at IS NULL',
        );
        return Number(rows[0]?.n) === 0;
      });
    } finally {
      await connection.end();
    }

    // Every payment's PaymentCompleted is in the topic after the offsets taken before the stop.
    const expected = new Set([...record.paymentIds.values()].flatMap((ids) => [...ids]));
    const delivered = new Set<string>();
    const groupId = `e2e-kafka-outage-${newKey()}`;
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.payments, fromBeginning: false });
    await consumer.run({
      eachMessage: ({ message }) => {
        const completed = message.value ? decodeEnvelope(message.value).paymentCompleted : undefined;
        if (completed && expected.has(completed.paymentId)) delivered.add(completed.paymentId);
        return Promise.resolve();
      },
    });
    for (const { partition, offset } of startOffsets)
      consumer.seek({ topic: topics.payments, partition, offset });
    try {
      await eventually(`${expected.size} PaymentCompleted events delivered`, 120_000, () =>
        Promise.resolve(delivered.size === expected.size),
      );
    } finally {
      await consumer.disconnect();
      // A test's group left behind would show ever-growing lag on the platform's lag metric.
      await deleteGroup(kafka, groupId);
    }

    // And the platform's own consumer groups caught up with all of it.
    const groupsAdmin = kafka.admin();
    await groupsAdmin.connect();
    try {
      const { groups } = await groupsAdmin.listGroups();
      const platformGroups = groups.map((g) => g.groupId).filter((id) => !id.startsWith('e2e-'));
      assert.ok(platformGroups.length > 0);
      await eventually('every platform consumer group caught up', 120_000, async () => {
        const ends = await groupsAdmin.fetchTopicOffsets(topics.payments);
        for (const groupId of platformGroups) {
          const [committed] = await groupsAdmin.fetchOffsets({ groupId, topics: [topics.payments] });
          if (!committed) continue;
          for (const { partition, offset } of committed.partitions) {
            const end = ends.find((e) => e.partition === partition)?.high ?? '0';
            if (Number(offset) >= 0 && Number(offset) < Number(end)) return false;
          }
        }
        return true;
      });
    } finally {
      await groupsAdmin.disconnect();
    }
  });
});

describe('database stopped for 15 s under steady traffic', () => {
  it('answers fast while it is down, serves cached balances, and pays each key once after it is back', async () => {
    const users = await fundedUsers(8);
    const shop = await createMerchant();
    const shopBefore = await merchantBalance(shop);
    // Balances cached before the outage (the gateway's fallback).
    for (const user of users) await userBalance(user);

    const traffic = steadyTraffic(users, shop, 3);
    const outage: TrafficRecord = {
      keys: new Map(),
      paymentIds: new Map(),
      statuses: new Map(),
      latencies: [],
    };
    const balanceReads: { status: number; stale: boolean; ms: number }[] = [];
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await stopDatabase();
      const downAt = Date.now();
      const seenBefore = traffic.record.latencies.length;
      while (Date.now() - downAt < 15_000) {
        const read = await timed(() =>
          fetch(`${gatewayUrl}/v1/users/${users[0].userId}/balance`, {
            headers: { authorization: `Bearer ${users[0].token}` },
            signal: AbortSignal.timeout(15_000),
          }).then(async (r) => ({ status: r.status, body: (await r.json()) as { stale?: boolean } })),
        );
        balanceReads.push({ status: read.value.status, stale: read.value.body.stale === true, ms: read.ms });
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      outage.latencies.push(...traffic.record.latencies.slice(seenBefore));
      assert.equal((await breaker('payment→tidb'))?.state, 'open', 'payment→tidb opened during the outage');
    } finally {
      await localInfra('ensure');
    }
    await waitForHealthy();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await traffic.stop();
    const { record } = traffic;
    console.log(
      `[resilience] database outage: ${record.keys.size} keys; answers: ${describeStatuses(record.statuses)}; during the outage ${latencySummary(outage.latencies)}; balance reads ${latencySummary(balanceReads.map((r) => r.ms))}, ${balanceReads.filter((r) => r.stale).length}/${balanceReads.length} stale`,
    );
    // Never a hang: every answer during the outage came well inside the gateway's 5 s deadline,
    // and only as success, "in progress" (the twin) or 503.
    for (const ms of outage.latencies)
      assert.ok(ms < 2_000, `a payment took ${ms.toFixed(0)} ms during the outage`);
    assert.deepEqual(
      [...record.statuses.keys()].filter((status) => ![201, 409, 503].includes(status)),
      [],
      'only 201, 409 or 503',
    );
    assert.ok((record.statuses.get(503) ?? 0) > 0, 'payments were refused while the database was down');
    // Balances: served throughout (the ledger's or the gateway's cache), never an error.
    assert.deepEqual(
      balanceReads.filter((r) => r.status !== 200),
      [],
      'balance reads answered 200 throughout',
    );
    await assertEachKeyPaidOnce(record, users, shop, shopBefore);
  });
});
