import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import { createKafka, startConsumerLagMonitor } from '../src/kafka/index.js';
import { createLogger } from '../src/logging/index.js';
import { createInMemoryMetrics } from '../src/telemetry/in-memory-metrics.js';

const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const logger = createLogger({ service: 'consumer-lag-test', level: 'silent' });

async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
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

void describe('consumer lag monitor against Kafka', { timeout: 120_000 }, () => {
  const topic = `koban-test.lag.${randomUUID()}`;
  const groupId = `koban-test-lag-${randomUUID()}`;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  before(async () => {
    kafka = createKafka({ clientId: 'consumer-lag-test', brokers, logger });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  });

  after(async () => {
    await producer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  /** Sends `count` records to each partition, as `[partition 0 count, partition 1 count]`. */
  const produce = async ([p0, p1]: [number, number]): Promise<void> => {
    const records = (partition: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ partition, value: `p${partition}-${i}` }));
    await producer.send({ topic, messages: [...records(0, p0), ...records(1, p1)] });
  };

  /** Runs the group until it has processed and committed `count` records, then stops it. */
  const consume = async (count: number): Promise<void> => {
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      let seen = 0;
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          await consumer.commitOffsets([{ topic, partition, offset: String(BigInt(message.offset) + 1n) }]);
          seen += 1;
        },
      });
      await pollUntil(`${count} records consumed`, () => Promise.resolve(seen >= count ? seen : undefined));
      assert.equal(seen, count);
    } finally {
      await consumer.disconnect();
    }
  };

  it('reports 0 once the group caught up, the new records while it is stopped, and 0 again after', async () => {
    const metrics = createInMemoryMetrics();
    const monitor = startConsumerLagMonitor({
      kafka,
      topics: [topic, `koban-test.lag.missing.${randomUUID()}`],
      logger,
      intervalMs: 200,
      meter: metrics.meter,
    });
    try {
      /** The gauge's points for this test's topic, as `[[group, partition, lag], ...]`. */
      const lagOf = async (): Promise<Array<[unknown, unknown, number]>> =>
        (await metrics.points('koban.kafka.consumer.lag'))
          .filter((p) => p.attributes['topic'] === topic)
          .map((p): [unknown, unknown, number] => [p.attributes['group'], p.attributes['partition'], p.value])
          .sort((a, b) => String(a[1]).localeCompare(String(b[1])));
      const lagReaches = (expected: [number, number]) =>
        pollUntil(`lag ${expected.join('/')}`, async () => {
          const lags = await lagOf();
          const wanted = [
            [groupId, '0', expected[0]],
            [groupId, '1', expected[1]],
          ];
          return JSON.stringify(lags) === JSON.stringify(wanted) ? lags : undefined;
        });

      await produce([3, 2]);
      await consume(5);
      await lagReaches([0, 0]);

      // The group is stopped (no member left): the lag grows by exactly what was produced.
      await produce([4, 3]);
      await lagReaches([4, 3]);

      await consume(7);
      await lagReaches([0, 0]);
    } finally {
      await monitor.stop();
    }
    // Stopped: the gauge no longer reports the group.
    assert.deepEqual(
      (await metrics.points('koban.kafka.consumer.lag')).filter((p) => p.attributes['topic'] === topic),
      [],
    );
    await metrics.shutdown();
  });
});
