import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { Partitioners, type Admin, type Kafka } from 'kafkajs';
import {
  createConnection,
  createPool,
  type Pool,
  type PoolConnection,
  type RowDataPacket,
} from 'mysql2/promise';
import {
  createEventProducer,
  createKafka,
  PROCESSED_EVENTS_DDL,
  runIdempotentConsumer,
  type ConsumedEvent,
  type EventHandler,
  type IdempotentConsumer,
  type RunInTransaction,
} from '../src/kafka/index.js';
import { createLogger } from '../src/logging/index.js';
import { testMysqlServer as server } from '../src/testing/local-infrastructure.js';

const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const logger = createLogger({ service: 'kafka-consumer-test', level: 'silent' });

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

async function committedOffset(admin: Admin, groupId: string, topic: string): Promise<string | undefined> {
  const [topicOffsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return topicOffsets?.partitions.find((p) => p.partition === 0)?.offset;
}

void describe('runIdempotentConsumer against Kafka and MariaDB', () => {
  const database = `koban_test_${randomBytes(6).toString('hex')}`;
  // No tracer provider is registered: spans stay non-recording and carry their parent's trace id.
  const contextManager = new AsyncLocalStorageContextManager();
  let kafka: Kafka;
  let admin: Admin;
  let pool: Pool;

  const runInTransaction: RunInTransaction = async (fn) => {
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const result = await fn(conn);
      await conn.commit();
      return result;
    } catch (error) {
      await conn.rollback();
      throw error;
    } finally {
      conn.release();
    }
  };

  /**
   * A test's own topic (one partition, so "last offset + 1" is one number) and consumer group.
   * Cleanup disconnects its clients before deleting the topic: a client still refreshing metadata
   * for it would have the broker auto-create it again.
   */
  const freshScenario = async (t: TestContext) => {
    const topic = `koban-test.consumer.${randomUUID()}`;
    const groupId = `koban-test-consumer-${randomUUID()}`;
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const producer = createEventProducer(kafka, { logger });
    await producer.connect();
    const consumers: IdempotentConsumer[] = [];
    t.after(async () => {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      await producer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] });
    });
    const startConsumer = async (handler: EventHandler): Promise<void> => {
      consumers.push(
        await runIdempotentConsumer(kafka, {
          groupId,
          topics: [topic],
          handler,
          runInTransaction,
          logger,
          retry: { initialDelayMs: 50, maxDelayMs: 500 },
          maxWaitTimeInMs: 200,
        }),
      );
    };
    return { topic, groupId, producer, startConsumer };
  };

  /** The effect the handlers apply: one row per event id, with how often it was applied. */
  const recordEffect = (event: ConsumedEvent, tx: PoolConnection) =>
    tx.execute(
      'INSERT INTO effects (event_id, applied) VALUES (?, 1) ON DUPLICATE KEY UPDATE applied = applied + 1',
      [event.eventId],
    );

  const effectRows = async (eventId: string): Promise<{ applied: number }[]> => {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT applied FROM effects WHERE event_id = ?', [
      eventId,
    ]);
    return rows.map((row) => ({ applied: Number(row['applied']) }));
  };

  before(async () => {
    context.setGlobalContextManager(contextManager.enable());
    const admin0 = await createConnection(server);
    try {
      await admin0.query(`CREATE DATABASE ${admin0.escapeId(database)}`);
    } finally {
      await admin0.end();
    }
    pool = createPool({ ...server, database, connectionLimit: 4 });
    await pool.query(PROCESSED_EVENTS_DDL);
    await pool.query('CREATE TABLE effects (event_id VARCHAR(64) PRIMARY KEY, applied INT NOT NULL)');

    kafka = createKafka({ clientId: 'kafka-consumer-test', brokers, logger });
    admin = kafka.admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect();
    await pool?.end();
    const admin0 = await createConnection(server);
    try {
      await admin0.query(`DROP DATABASE IF EXISTS ${admin0.escapeId(database)}`);
    } finally {
      await admin0.end();
    }
    context.disable();
    contextManager.disable();
  });

  void it('runs the handler in the trace the event was produced in', async (t) => {
    const { topic, producer, startConsumer } = await freshScenario(t);
    const traceId = randomBytes(16).toString('hex');
    const producerCtx = trace.setSpanContext(context.active(), {
      traceId,
      spanId: randomBytes(8).toString('hex'),
      traceFlags: 1,
    });
    const eventId = randomUUID();
    await context.with(producerCtx, () =>
      producer.publish({ topic, key: 'payer-1', value: Buffer.from('{}'), eventId }),
    );

    const seen: { traceId: string | undefined; event: ConsumedEvent }[] = [];
    await startConsumer(async (event, tx) => {
      seen.push({ traceId: trace.getSpanContext(context.active())?.traceId, event });
      await recordEffect(event, tx);
    });

    await pollUntil('the event to be handled', () => (seen.length > 0 ? true : undefined));
    assert.equal(seen[0]?.traceId, traceId);
    assert.equal(seen[0]?.event.eventId, eventId);
    assert.equal(seen[0]?.event.key?.toString(), 'payer-1');
    assert.match(seen[0]?.event.headers['traceparent'] ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  void it('continues a stored traceparent rather than the active trace', async (t) => {
    const { topic, producer, startConsumer } = await freshScenario(t);
    const storedTraceId = randomBytes(16).toString('hex');
    const traceparent = `00-${storedTraceId}-${randomBytes(8).toString('hex')}-01`;
    const activeCtx = trace.setSpanContext(context.active(), {
      traceId: randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      traceFlags: 1,
    });
    await context.with(activeCtx, () =>
      producer.publish({
        topic,
        key: null,
        value: Buffer.from('{}'),
        eventId: randomUUID(),
        headers: { traceparent },
      }),
    );

    const traceIds: (string | undefined)[] = [];
    await startConsumer(() => {
      traceIds.push(trace.getSpanContext(context.active())?.traceId);
      return Promise.resolve();
    });
    await pollUntil('the event to be handled', () => (traceIds.length > 0 ? true : undefined));
    assert.deepEqual(traceIds, [storedTraceId]);
  });

  void it('commits the offset only after a failed handler succeeded and its effect was stored', async (t) => {
    const { topic, groupId, producer, startConsumer } = await freshScenario(t);
    const eventId = randomUUID();
    const published = await producer.publish({ topic, key: 'payer-2', value: Buffer.from('{}'), eventId });

    let attempts = 0;
    let releaseSecondAttempt!: () => void;
    const secondAttemptMayFinish = new Promise<void>((resolve) => {
      releaseSecondAttempt = resolve;
    });
    await startConsumer(async (event, tx) => {
      attempts += 1;
      await recordEffect(event, tx);
      if (attempts === 1) throw new Error('the first attempt fails after writing its effect');
      await secondAttemptMayFinish;
    });

    // The second attempt has started, so the first one has failed and been rolled back.
    await pollUntil('a second attempt', () => (attempts >= 2 ? true : undefined));
    assert.equal(await committedOffset(admin, groupId, topic), '-1');
    assert.deepEqual(await effectRows(eventId), []);

    releaseSecondAttempt();
    const expected = (BigInt(published.offset) + 1n).toString();
    await pollUntil('the offset commit', async () =>
      (await committedOffset(admin, groupId, topic)) === expected ? true : undefined,
    );
    assert.deepEqual(await effectRows(eventId), [{ applied: 1 }]);
    assert.equal(attempts, 2);
  });

  void it('applies an event delivered twice once, and commits past both copies', async (t) => {
    const { topic, groupId, producer, startConsumer } = await freshScenario(t);
    const eventId = randomUUID();
    await producer.publish({ topic, key: 'payer-3', value: Buffer.from('{"n":1}'), eventId });
    const second = await producer.publish({ topic, key: 'payer-3', value: Buffer.from('{"n":1}'), eventId });

    const handled: ConsumedEvent[] = [];
    await startConsumer(async (event, tx) => {
      handled.push(event);
      await recordEffect(event, tx);
    });

    const expected = (BigInt(second.offset) + 1n).toString();
    await pollUntil('both copies consumed', async () =>
      (await committedOffset(admin, groupId, topic)) === expected ? true : undefined,
    );
    assert.equal(handled.length, 1);
    assert.deepEqual(await effectRows(eventId), [{ applied: 1 }]);
    const [processed] = await pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM processed_events WHERE consumer_group = ? AND event_id = ?',
      [groupId, eventId],
    );
    assert.equal(Number(processed[0]?.['n']), 1);
  });

  void it('skips a message without an event id and moves on', async (t) => {
    const { topic, groupId, producer, startConsumer } = await freshScenario(t);
    const raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await raw.connect();
    try {
      await raw.send({ topic, messages: [{ key: 'k', value: 'no id' }] });
    } finally {
      await raw.disconnect();
    }
    const next = await producer.publish({
      topic,
      key: 'k',
      value: Buffer.from('with id'),
      eventId: randomUUID(),
    });

    const handled: string[] = [];
    await startConsumer((event) => {
      handled.push(event.value?.toString() ?? '');
      return Promise.resolve();
    });
    const expected = (BigInt(next.offset) + 1n).toString();
    await pollUntil('both messages consumed', async () =>
      (await committedOffset(admin, groupId, topic)) === expected ? true : undefined,
    );
    assert.deepEqual(handled, ['with id']);
  });
});
