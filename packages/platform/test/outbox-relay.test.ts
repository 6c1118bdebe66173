import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricAttributes } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { Admin, Kafka } from 'kafkajs';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { createDb, ensureDatabase, type Db } from '../src/db/index.js';
import {
  createEventProducer,
  createKafka,
  ensureTopics,
  type EventProducer,
  type PublishRequest,
} from '../src/kafka/index.js';
import { decodeHeaders } from '../src/kafka/trace-headers.js';
import { createLogger } from '../src/logging/index.js';
import {
  createDependencyPolicy,
  dependencyPresets,
  failureKind,
  presetOptions,
  type DependencyOverrides,
  type DependencyPolicy,
} from '../src/resilience/index.js';
import {
  OUTBOX_DDL,
  createOutboxRelay,
  enqueueOutboxEvent,
  type OutboxEvent,
  type OutboxRelay,
  type OutboxRelayOptions,
} from '../src/outbox/index.js';
import { testMysqlServer as server } from '../src/testing/local-infrastructure.js';

const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const logger = createLogger({ service: 'outbox-relay-test', level: 'silent' });

class TestMetricReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

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
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A record as a test consumer received it. */
interface Received {
  partition: number;
  offset: string;
  key: string | undefined;
  value: Buffer | null;
  headers: Record<string, string>;
}

const traceparentOf = (traceId: string) => `00-${traceId}-b7ad6b7169203331-01`;

void describe('createOutboxRelay against MariaDB and Kafka', () => {
  let kafka: Kafka;
  let admin: Admin;
  let producer: EventProducer;

  before(async () => {
    kafka = createKafka({ clientId: 'outbox-relay-test', brokers, logger });
    admin = kafka.admin();
    await admin.connect();
    producer = createEventProducer(kafka, { logger });
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
  });

  /**
   * A test's own schema with the outbox table and its own topic. Everything it opens is closed in
   * reverse order after the test: relays before the pools they use, consumers before the topic
   * is deleted (a client still fetching metadata would have the broker create it again).
   */
  async function freshScenario(t: TestContext, partitions = 1) {
    const database = `koban_test_${randomBytes(6).toString('hex')}`;
    const topic = `koban-test.outbox.${randomUUID()}`;
    const cleanups: Array<() => Promise<unknown>> = [];
    t.after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    });

    cleanups.push(async () => {
      const conn = await createConnection(server);
      try {
        await conn.query(`DROP DATABASE IF EXISTS ${conn.escapeId(database)}`);
      } finally {
        await conn.end();
      }
    });
    await ensureDatabase({ ...server, database });
    const openDb = (): Db => {
      const db = createDb({ ...server, database, poolSize: 4, logger });
      cleanups.push(() => db.close());
      return db;
    };
    const db = openDb();
    await db.query(OUTBOX_DDL);

    cleanups.push(() => admin.deleteTopics({ topics: [topic] }));
    assert.deepEqual(await ensureTopics(kafka, [topic], { partitions, replicationFactor: 1 }), [topic]);

    /** A `→kafka` policy of its own (a relay stands for one process, with one policy). */
    const kafkaPolicy = (overrides: DependencyOverrides = {}): DependencyPolicy => {
      const policy = createDependencyPolicy(
        presetOptions(dependencyPresets.kafka, `outbox-test-${randomUUID()}`, overrides),
        { logger },
      );
      cleanups.push(() => Promise.resolve(policy.dispose()));
      return policy;
    };

    const relay = (options: Partial<OutboxRelayOptions> = {}): OutboxRelay => {
      const created = createOutboxRelay({
        db,
        producer,
        logger,
        pollIntervalMs: 20,
        ...options,
        policy: options.policy ?? kafkaPolicy(),
      });
      cleanups.push(() => created.stop());
      return created;
    };

    /** Commits `events` in one transaction; resolves with their ids. */
    const enqueue = (events: Array<Partial<OutboxEvent>>): Promise<string[]> =>
      db.transaction(async (conn) => {
        const ids: string[] = [];
        for (const event of events) {
          ids.push(
            await enqueueOutboxEvent(conn, {
              topic,
              key: 'acc-1',
              eventType: 'PaymentCompleted',
              payload: Buffer.from(randomUUID()),
              ...event,
            }),
          );
        }
        return ids;
      });

    /** Every record of the topic, read from the beginning by a fresh consumer group. */
    const consume = async (): Promise<Received[]> => {
      const groupId = `koban-test-outbox-${randomUUID()}`;
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
      cleanups.push(async () => {
        await consumer.disconnect();
        await admin.deleteGroups([groupId]);
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const received: Received[] = [];
      await consumer.run({
        eachMessage: ({ partition, message }) => {
          received.push({
            partition,
            offset: message.offset,
            key: message.key?.toString('utf8'),
            value: message.value,
            headers: decodeHeaders(message.headers),
          });
          return Promise.resolve();
        },
      });
      return received;
    };

    /** Records written to the topic so far, from the partitions' high watermarks. */
    const recordsInTopic = async (): Promise<number> =>
      (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);

    const outboxRows = async () =>
      (
        await db.query<RowDataPacket[]>(
          'SELECT event_id, sent_at, attempts, claimed_by FROM outbox ORDER BY created_at',
        )
      ).map((row) => ({
        eventId: String(row['event_id']),
        sent: row['sent_at'] !== null,
        attempts: Number(row['attempts']),
        claimedBy: row['claimed_by'] as string | null,
      }));

    return { db, openDb, topic, kafkaPolicy, relay, enqueue, consume, recordsInTopic, outboxRows };
  }

  void it('publishes the rows of a committed transaction with key, headers and trace context, and marks them sent', async (t) => {
    const s = await freshScenario(t);
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const ids = await s.enqueue([
      { key: 'acc-a', eventType: 'PaymentCompleted', traceparent: traceparentOf(traceId), tracestate: 'k=v' },
      { key: 'acc-b', eventType: 'koban.events.v1.CashbackDeferred', traceparent: traceparentOf(traceId) },
      { key: 'acc-a', eventType: 'PaymentRefunded', traceparent: traceparentOf(traceId) },
    ]);

    assert.equal(await s.relay().runOnce(), 3);
    assert.ok((await s.outboxRows()).every((row) => row.sent && row.attempts === 1));

    const received = await s.consume();
    await pollUntil('three records', () => (received.length >= 3 ? true : undefined));
    const byId = new Map(received.map((record) => [record.headers['event-id'], record]));
    assert.deepEqual([...byId.keys()].sort(), [...ids].sort());
    const first = byId.get(ids[0]);
    assert.equal(first?.key, 'acc-a');
    assert.equal(first?.headers['koban-event-type'], 'koban.events.v1.PaymentCompleted');
    assert.equal(first?.headers['traceparent']?.split('-')[1], traceId);
    assert.equal(first?.headers['tracestate'], 'k=v');
    assert.equal(byId.get(ids[1])?.key, 'acc-b');
    assert.equal(byId.get(ids[1])?.headers['koban-event-type'], 'koban.events.v1.CashbackDeferred');
    // One key, one partition, in the order the rows were written.
    const keyA = received.filter((record) => record.key === 'acc-a').map((r) => r.headers['event-id']);
    assert.deepEqual(keyA, [ids[0], ids[2]]);

    // Nothing left: a second pass publishes nothing and no record is written twice.
    assert.equal(await s.relay().runOnce(), 0);
    assert.equal(await s.recordsInTopic(), 3);
  });

  void it('publishes nothing of a rolled-back transaction', async (t) => {
    const s = await freshScenario(t);
    await assert.rejects(
      s.db.transaction(async (conn) => {
        await enqueueOutboxEvent(conn, {
          topic: s.topic,
          key: 'acc-1',
          eventType: 'PaymentCompleted',
          payload: Buffer.from('never'),
        });
        throw new Error('the business change failed');
      }),
      /the business change failed/,
    );
    const relay = s.relay();
    assert.equal(await relay.runOnce(), 0);
    assert.deepEqual(await s.outboxRows(), []);

    // A committed event published afterwards is the only record of the topic.
    const [marker] = await s.enqueue([{}]);
    assert.equal(await relay.runOnce(), 1);
    assert.equal(await s.recordsInTopic(), 1);
    const received = await s.consume();
    await pollUntil('the marker event', () => (received.length > 0 ? true : undefined));
    assert.deepEqual(
      received.map((record) => record.headers['event-id']),
      [marker],
    );
  });

  void it('three relays running at once publish each of 300 rows exactly once', async (t) => {
    const s = await freshScenario(t, 3);
    const ids: string[] = [];
    for (let chunk = 0; chunk < 6; chunk += 1) {
      ids.push(
        ...(await s.enqueue(Array.from({ length: 50 }, (_, i) => ({ key: `acc-${(chunk * 50 + i) % 17}` })))),
      );
    }
    const received = await s.consume();
    // Separate pools, as separate replicas would have.
    const relays = [1, 2, 3].map((n) =>
      s.relay({ db: s.openDb(), relayId: `relay-${n}`, batchSize: 20, pollIntervalMs: 10 }),
    );
    relays.forEach((relay) => relay.start());

    await pollUntil(
      'every row marked sent',
      async () => ((await s.outboxRows()).every((row) => row.sent) ? true : undefined),
      60_000,
    );
    await Promise.all(relays.map((relay) => relay.stop()));
    await pollUntil('300 records consumed', () => (received.length >= 300 ? true : undefined));

    // Written to Kafka exactly 300 times, each event id once.
    assert.equal(await s.recordsInTopic(), 300);
    const counts = new Map<string, number>();
    for (const record of received) {
      const id = record.headers['event-id'] ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), [...ids].sort());
    assert.ok([...counts.values()].every((count) => count === 1));
    const rows = await s.outboxRows();
    assert.ok(
      rows.every((row) => row.attempts === 1),
      'no row was claimed twice',
    );
    const claimers = new Set(rows.map((row) => row.claimedBy?.split('/')[0]));
    assert.ok(claimers.size >= 2, `the relays shared the work (claimed by ${[...claimers].join(', ')})`);
  });

  void it('takes over the rows of a relay that died holding its claim, once the claim expires', async (t) => {
    const s = await freshScenario(t);
    const ids = await s.enqueue(Array.from({ length: 5 }, (_, i) => ({ key: `acc-${i}` })));

    // The first relay publishes one row for real, then hangs: the process died mid-batch.
    let published = 0;
    let die: (reason: Error) => void = () => undefined;
    const hung = new Promise<never>((_, reject) => {
      die = reject;
    });
    hung.catch(() => undefined);
    const dying = s.relay({
      relayId: 'dying',
      claimTtlMs: 1_000,
      policy: s.kafkaPolicy({ timeoutMs: 60_000 }),
      producer: {
        publish: (request: PublishRequest) => {
          published += 1;
          return published === 1 ? producer.publish(request) : hung;
        },
      },
    });
    const dyingRun = dying.runOnce();
    dyingRun.catch(() => undefined);
    await pollUntil('the first relay to claim the batch', async () => {
      const rows = await s.outboxRows();
      return rows.every((row) => row.claimedBy?.startsWith('dying/')) && published >= 2 ? true : undefined;
    });

    // Until the claim expires nobody else touches the rows; then the survivor publishes them all.
    const survivor = s.relay({ relayId: 'survivor' });
    let taken = 0;
    await pollUntil('the survivor to publish every row', async () => {
      taken += await survivor.runOnce();
      return taken >= ids.length ? true : undefined;
    });
    const rows = await s.outboxRows();
    assert.ok(rows.every((row) => row.sent && row.claimedBy?.startsWith('survivor/') && row.attempts === 2));

    // The dead relay's late answer cannot mark rows it no longer holds.
    die(new Error('process killed'));
    await assert.rejects(dyingRun);
    assert.ok((await s.outboxRows()).every((row) => row.claimedBy?.startsWith('survivor/')));

    // At least once: every event arrives, the one published before the death twice.
    const received = await s.consume();
    await pollUntil('six records', () => (received.length >= 6 ? true : undefined));
    const seen = new Set(received.map((record) => record.headers['event-id']));
    assert.deepEqual([...seen].sort(), [...ids].sort());
    assert.equal(await s.recordsInTopic(), ids.length + 1);
  });

  void it('keeps rows while Kafka is unreachable and publishes them once it is back', async (t) => {
    const s = await freshScenario(t);
    const unreachable = createEventProducer(
      createKafka({ clientId: 'outbox-relay-test-down', brokers: ['127.0.0.1:1'], logger }),
      { logger },
    );
    let kafkaUp = false;
    const relay = s.relay({
      maxBackoffMs: 200,
      producer: { publish: (request) => (kafkaUp ? producer : unreachable).publish(request) },
    });
    const ids = await s.enqueue(Array.from({ length: 10 }, (_, i) => ({ key: `acc-${i % 3}` })));
    await assert.rejects(relay.runOnce(), { name: 'OutboxPublishError' });
    relay.start();

    await pollUntil('the relay to retry every row', async () =>
      (await s.outboxRows()).every((row) => row.attempts >= 3) ? true : undefined,
    );
    assert.ok((await s.outboxRows()).every((row) => !row.sent));
    assert.equal(await s.recordsInTopic(), 0);

    kafkaUp = true;
    await pollUntil('every row sent', async () =>
      (await s.outboxRows()).every((row) => row.sent) ? true : undefined,
    );
    const received = await s.consume();
    await pollUntil('ten records', () => (received.length >= 10 ? true : undefined));
    assert.deepEqual(received.map((record) => record.headers['event-id']).sort(), [...ids].sort());
  });

  void it('claims nothing while its Kafka breaker is open, and drains once the breaker closes', async (t) => {
    const s = await freshScenario(t);
    const policy = s.kafkaPolicy({ breaker: { consecutiveFailures: 2, halfOpenAfterMs: 300 } });
    // The state of the breaker at each claim the relay makes.
    const claimedWhile: string[] = [];
    const db: Db = {
      ...s.db,
      query: (sql, params) => {
        if (sql.startsWith('UPDATE outbox\n   SET claimed_by')) claimedWhile.push(policy.snapshot().state);
        return s.db.query(sql, params);
      },
    };
    let kafkaUp = false;
    const relay = s.relay({
      db,
      policy,
      maxBackoffMs: 200,
      producer: {
        publish: (request) => {
          if (kafkaUp) return producer.publish(request);
          return Promise.reject(new Error('broker gone'));
        },
      },
    });
    const ids = await s.enqueue(Array.from({ length: 6 }, (_, i) => ({ key: `acc-${i % 2}` })));
    relay.start();

    // Opened, half-opened for a trial batch that failed, opened again: the relay kept backing off.
    await pollUntil('the breaker to open twice', () => (policy.snapshot().trips >= 2 ? true : undefined));
    assert.ok(!claimedWhile.includes('open'), `claims by breaker state: ${claimedWhile.join(', ')}`);
    assert.ok((await s.outboxRows()).every((row) => !row.sent));
    assert.equal(await s.recordsInTopic(), 0);

    kafkaUp = true;
    await pollUntil('every row sent', async () =>
      (await s.outboxRows()).every((row) => row.sent) ? true : undefined,
    );
    assert.equal(policy.snapshot().state, 'closed');
    assert.ok(!claimedWhile.includes('open'), `claims by breaker state: ${claimedWhile.join(', ')}`);
    const received = await s.consume();
    await pollUntil('six records', () => (received.length >= 6 ? true : undefined));
    assert.deepEqual(received.map((record) => record.headers['event-id']).sort(), [...ids].sort());
  });

  void it('gives a batch up at the policy timeout, then claims nothing while the breaker it opened is open', async (t) => {
    const s = await freshScenario(t);
    const ids = await s.enqueue(Array.from({ length: 3 }, (_, i) => ({ key: `acc-${i}` })));
    let publishes = 0;
    const policy = s.kafkaPolicy({
      timeoutMs: 200,
      breaker: { consecutiveFailures: 1, halfOpenAfterMs: 60_000 },
    });
    const stuck = s.relay({
      relayId: 'stuck',
      maxBackoffMs: 100,
      policy,
      producer: {
        publish: () => {
          publishes += 1;
          return new Promise<never>(() => undefined);
        },
      },
    });
    const started = Date.now();
    await assert.rejects(stuck.runOnce(), (err: Error) => {
      assert.equal(err.name, 'OutboxPublishError');
      assert.equal(failureKind(err.cause), 'timeout');
      return true;
    });
    assert.ok(Date.now() - started < 5_000, 'gave up at the timeout, not at the claim TTL');
    assert.ok((await s.outboxRows()).every((row) => !row.sent && row.attempts === 1));
    assert.equal(policy.snapshot().state, 'open');

    // Open: refused at once, without claiming (attempts unchanged) or publishing.
    const publishesBefore = publishes;
    await assert.rejects(stuck.runOnce(), (err) => failureKind(err) === 'open');
    assert.equal(publishes, publishesBefore);
    assert.ok((await s.outboxRows()).every((row) => !row.sent && row.attempts === 1));

    // Released after the short backoff, not the 30 s claim: a working relay publishes them.
    const working = s.relay({ relayId: 'working' });
    let published = 0;
    await pollUntil('the rows published by another batch', async () => {
      published += await working.runOnce();
      return published >= ids.length ? true : undefined;
    });
    assert.ok((await s.outboxRows()).every((row) => row.sent && row.attempts === 2));
    assert.equal(await s.recordsInTopic(), ids.length);
  });

  void it('reports backlog, oldest age and published rows as metrics', async (t) => {
    const s = await freshScenario(t);
    const reader = new TestMetricReader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter('test');
    const metric = async (name: string, attributes: MetricAttributes = {}): Promise<number | undefined> => {
      const { resourceMetrics } = await reader.collect();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const data of scope.metrics) {
          if (data.descriptor.name !== name) continue;
          const point = data.dataPoints.find((p) =>
            Object.entries(attributes).every(([key, value]) => p.attributes[key] === value),
          );
          return point === undefined ? undefined : (point.value as number);
        }
      }
      return undefined;
    };

    await s.enqueue(Array.from({ length: 4 }, () => ({})));
    const failing = s.relay({
      meter,
      statsMaxAgeMs: 1,
      maxBackoffMs: 100,
      producer: { publish: () => Promise.reject(new Error('broker gone')) },
    });
    failing.start();
    await pollUntil('a backlog of 4', async () =>
      (await metric('koban.outbox.backlog')) === 4 ? true : undefined,
    );
    await pollUntil('an oldest age above zero', async () =>
      ((await metric('koban.outbox.oldest_age_seconds')) ?? 0) > 0 ? true : undefined,
    );
    await pollUntil('the failed publishes counted', async () =>
      ((await metric('koban.outbox.publish_failures', { topic: s.topic })) ?? 0) >= 4 ? true : undefined,
    );
    await failing.stop();

    const working = s.relay({ meter, statsMaxAgeMs: 1 });
    working.start();
    await pollUntil('an empty backlog', async () =>
      (await metric('koban.outbox.backlog')) === 0 ? true : undefined,
    );
    assert.equal(await metric('koban.outbox.oldest_age_seconds'), 0);
    // The counter moves just after the rows are marked, which the gauge may see first.
    await pollUntil('4 published', async () =>
      (await metric('koban.outbox.published', { topic: s.topic })) === 4 ? true : undefined,
    );
    await working.stop();
    assert.equal(await metric('koban.outbox.published', { topic: s.topic }), 4);
  });

  void it('deletes sent rows past the retention, and never unsent ones', async (t) => {
    const s = await freshScenario(t);
    const [old, recent] = await s.enqueue([{}, {}]);
    const relay = s.relay({ retentionMs: 60 * 60 * 1000 });
    assert.equal(await relay.runOnce(), 2);
    const [unsent] = await s.enqueue([{}]);
    await s.db.query('UPDATE outbox SET sent_at = NOW(3) - INTERVAL 2 HOUR WHERE event_id = ?', [old]);
    await s.db.query('UPDATE outbox SET created_at = NOW(3) - INTERVAL 3 HOUR WHERE event_id = ?', [unsent]);

    assert.equal(await relay.cleanupOnce(), 1);
    assert.deepEqual((await s.outboxRows()).map((row) => row.eventId).sort(), [recent, unsent].sort());
  });

  void it('ensureTopics creates missing topics once and leaves existing ones', async (t) => {
    const topics = [`koban-test.ensure.${randomUUID()}`, `koban-test.ensure.${randomUUID()}`];
    t.after(() => admin.deleteTopics({ topics }));
    const options = { partitions: 3, replicationFactor: 1 };
    assert.deepEqual(await ensureTopics(kafka, [topics[0] ?? ''], options), [topics[0]]);
    assert.deepEqual((await ensureTopics(kafka, topics, options)).sort(), [topics[1]]);
    assert.deepEqual(await ensureTopics(kafka, topics, options), []);
    const metadata = await admin.fetchTopicMetadata({ topics });
    assert.deepEqual(
      metadata.topics.map((topic) => topic.partitions.length),
      [3, 3],
    );
  });
});
