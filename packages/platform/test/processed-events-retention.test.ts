// The purge of old processed_events rows, against MariaDB (and Kafka, for the consumer that
// runs it).
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import {
  DEFAULT_PROCESSED_EVENTS_RETENTION_MS,
  PROCESSED_EVENTS_DDL,
  createKafka,
  purgeProcessedEvents,
  runIdempotentConsumer,
  startProcessedEventsPurger,
  type RunInTransaction,
} from '../src/kafka/index.js';
import { createLogger } from '../src/logging/index.js';
import { testMysqlServer as server } from '../src/testing/local-infrastructure.js';

const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const logger = createLogger({ service: 'processed-events-retention-test', level: 'silent' });
const hour = 3_600_000;
const day = 24 * hour;

async function pollUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

void describe('processed_events retention against MariaDB', () => {
  const database = `koban_test_${randomBytes(6).toString('hex')}`;
  let pool: Pool;
  /** Each transaction the purge opened, and the statements it ran. */
  let transactions: number;

  const runInTransaction: RunInTransaction = async (fn) => {
    transactions += 1;
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

  /** Rows of `groupId` processed `agesMs` ago (on the database's clock); answers their ids. */
  async function processed(groupId: string, agesMs: readonly number[]): Promise<string[]> {
    const ids: string[] = [];
    for (const ageMs of agesMs) {
      const eventId = randomUUID();
      await pool.query(
        `INSERT INTO processed_events (consumer_group, event_id, processed_at)
         VALUES (?, ?, NOW(3) - INTERVAL ? MICROSECOND)`,
        [groupId, eventId, ageMs * 1_000],
      );
      ids.push(eventId);
    }
    return ids;
  }

  async function remaining(groupId: string): Promise<Set<string>> {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT event_id FROM processed_events WHERE consumer_group = ?',
      [groupId],
    );
    return new Set(rows.map((row) => String(row['event_id'])));
  }

  before(async () => {
    const admin = await createConnection(server);
    try {
      await admin.query(`CREATE DATABASE ${admin.escapeId(database)}`);
    } finally {
      await admin.end();
    }
    pool = createPool({ ...server, database, connectionLimit: 4 });
    await pool.query(PROCESSED_EVENTS_DDL);
  });

  after(async () => {
    await pool?.end();
    const admin = await createConnection(server);
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeId(database)}`);
    } finally {
      await admin.end();
    }
  });

  void it('keeps 8 days by default: longer than the 7 days Kafka keeps the topics', () => {
    assert.equal(DEFAULT_PROCESSED_EVENTS_RETENTION_MS, 8 * day);
  });

  void it('deletes the group’s rows older than the retention in small transactions, and keeps recent ones and other groups’', async () => {
    const groupId = `group-${randomUUID()}`;
    const otherGroup = `group-${randomUUID()}`;
    const old = await processed(groupId, [9 * day, 10 * day, 30 * day, 8 * day + hour, 9 * day + 1]);
    const recent = await processed(groupId, [0, hour, 7 * day, 8 * day - hour]);
    const othersOld = await processed(otherGroup, [20 * day]);

    transactions = 0;
    const purged = await purgeProcessedEvents(runInTransaction, {
      groupId,
      maxAgeMs: 8 * day,
      batchSize: 2,
    });

    assert.equal(purged, old.length);
    assert.deepEqual(await remaining(groupId), new Set(recent));
    assert.deepEqual(await remaining(otherGroup), new Set(othersOld));
    // 5 rows, 2 per statement: 2 + 2 + 1, the short batch ending the run.
    assert.equal(transactions, 3);
  });

  void it('purges again at each interval while the purger runs', async () => {
    const groupId = `group-${randomUUID()}`;
    const recent = await processed(groupId, [0, day]);
    await processed(groupId, [9 * day]);
    const purger = startProcessedEventsPurger({
      groupId,
      runInTransaction,
      retention: { maxAgeMs: 8 * day, intervalMs: 50, batchSize: 10 },
      logger,
    });
    try {
      await pollUntil('the first old row gone', async () => (await remaining(groupId)).size === 2);
      // Rows that age past the retention later go at a later run.
      await processed(groupId, [12 * day, 40 * day]);
      await pollUntil('the later old rows gone', async () => (await remaining(groupId)).size === 2);
      assert.deepEqual(await remaining(groupId), new Set(recent));
    } finally {
      await purger.stop();
    }
  });

  void it('is started by runIdempotentConsumer for its group, and stopped with it', async () => {
    const kafka = createKafka({ clientId: 'processed-events-retention-test', brokers, logger });
    const admin = kafka.admin();
    await admin.connect();
    const topic = `koban-test.retention.${randomUUID()}`;
    const groupId = `koban-test-retention-${randomUUID()}`;
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      const recent = await processed(groupId, [hour]);
      await processed(groupId, [9 * day, 15 * day]);
      const consumer = await runIdempotentConsumer(kafka, {
        groupId,
        topics: [topic],
        handler: () => Promise.resolve(),
        runInTransaction,
        logger,
        maxWaitTimeInMs: 100,
        retention: { maxAgeMs: 8 * day, intervalMs: 50 },
      });
      try {
        await pollUntil('the old rows gone', async () => (await remaining(groupId)).size === 1);
        assert.deepEqual(await remaining(groupId), new Set(recent));
      } finally {
        await consumer.stop();
      }
    } finally {
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    }
  });
});
