import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, Partitioners, type Admin, type EachMessagePayload } from 'kafkajs';

/**
 * Proves that kafkajs 2.2.4 speaks to the broker that deploy/local/infra.sh runs (Apache Kafka
 * 4.x, which dropped the protocol versions older than Kafka 2.1): every API the platform's Kafka
 * module relies on is exercised once, against the real broker.
 */
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

async function pollUntil<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

void describe('kafkajs against the local Kafka broker', () => {
  const kafka = new Kafka({ clientId: `kafka-compat-${randomUUID()}`, brokers, logLevel: logLevel.WARN });
  const admin: Admin = kafka.admin();
  const topic = `koban-test.compat.${randomUUID()}`;
  const groupId = `koban-test-compat-${randomUUID()}`;

  before(async () => {
    await admin.connect();
  });

  after(async () => {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  void it('creates a topic and lists it', async () => {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    assert.equal(created, true);
    assert.ok((await admin.listTopics()).includes(topic));
  });

  void it('produces idempotently, consumes in a group and reads back the manually committed offset', async () => {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const values = ['one', 'two', 'three'];
    try {
      const metadata = await producer.send({
        topic,
        acks: -1,
        messages: values.map((value) => ({ key: 'k', value, headers: { 'event-id': randomUUID() } })),
      });
      assert.equal(metadata[0]?.errorCode, 0);
    } finally {
      await producer.disconnect();
    }

    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    const seen: EachMessagePayload[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: (payload) => {
          seen.push(payload);
          return Promise.resolve();
        },
      });
      await pollUntil('three messages', () => (seen.length >= 3 ? true : undefined));
      assert.deepEqual(
        seen.map((payload) => payload.message.value?.toString()),
        values,
      );
      assert.ok(seen[0]?.message.headers?.['event-id']);

      const last = seen.at(-1);
      assert.ok(last);
      await consumer.commitOffsets([
        { topic, partition: last.partition, offset: (BigInt(last.message.offset) + 1n).toString() },
      ]);
    } finally {
      await consumer.disconnect();
    }

    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(committed, [{ topic, partitions: [{ partition: 0, offset: '3', metadata: null }] }]);
  });
});
