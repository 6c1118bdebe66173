import { EVENT_ID_HEADER, createEventProducer, type Logger, type createKafka } from '@koban/platform';
import { deterministicEventId } from '../events/cashback-events.js';

export interface ReplayOptions {
  kafka: ReturnType<typeof createKafka>;
  /** The dead-letter topic, `cashback.v1.dlq`. */
  from: string;
  /** Where its records go back to, `cashback.v1`. */
  to: string;
  /** The replay's own consumer group: its committed offsets say what was replayed already. */
  groupId: string;
  logger: Logger;
  /** Gives up (and rejects) after this long; what was replayed stays committed. */
  timeoutMs: number;
}

export interface ReplayResult {
  /** Records re-published by this run. */
  replayed: number;
  /** Per partition of `from`: the offset this run stopped at (its end when it started). */
  endOffsets: Record<number, string>;
}

/** Header naming where a replayed record came from: `<topic>/<partition>/<offset>`. */
export const REPLAYED_FROM_HEADER = 'koban-replayed-from';

/**
 * Re-publishes every record of the dead-letter topic that this group has not replayed yet, up to
 * the end the topic had when the run started, to the live topic, and commits each record's
 * offset once Kafka acknowledged its copy. Key, value and headers are kept; the `event-id`
 * header is replaced by one derived from the record's place in the dead-letter topic (the
 * consumer had recorded the old one as processed when it gave up, so it would skip it), and
 * `koban-replayed-from` says where it came from. A run killed between publishing and committing
 * publishes that record again with the same event id, which the consumer applies once; and the
 * grant itself is idempotent by payment id.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
  const { kafka, from, to, groupId } = options;
  const logger = options.logger.child({ component: 'dlq-replay', from, to, groupId });

  const admin = kafka.admin();
  await admin.connect();
  const todo = new Map<number, bigint>();
  const endOffsets: Record<number, string> = {};
  try {
    if (!(await admin.listTopics()).includes(from)) {
      logger.info('no dead-letter topic: nothing to replay');
      return { replayed: 0, endOffsets };
    }
    const ends = await admin.fetchTopicOffsets(from);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [from] });
    for (const { partition, high, low } of ends) {
      endOffsets[partition] = high;
      const mark = committed?.partitions.find((entry) => entry.partition === partition)?.offset ?? '-1';
      const start = BigInt(mark) >= 0n ? BigInt(mark) : BigInt(low);
      if (start < BigInt(high)) todo.set(partition, BigInt(high));
    }
  } finally {
    await admin.disconnect();
  }
  if (todo.size === 0) {
    logger.info('dead-letter topic fully replayed already');
    return { replayed: 0, endOffsets };
  }

  const producer = createEventProducer(kafka, { logger });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  let replayed = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: from, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`replay not finished after ${options.timeoutMs} ms (${replayed} replayed)`)),
        options.timeoutMs,
      );
      consumer
        .run({
          autoCommit: false,
          eachMessage: async (payload) => {
            const { partition, message } = payload;
            const end = todo.get(partition);
            const offset = BigInt(message.offset);
            if (end === undefined || offset >= end) {
              // Dead-lettered after this run started: the next run replays it.
              payload.pause();
              return;
            }
            if (message.value !== null) {
              const headers: Record<string, string> = {};
              for (const [name, raw] of Object.entries(message.headers ?? {})) {
                const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
                if (value !== undefined) headers[name] = value.toString();
              }
              const originalEventId = headers[EVENT_ID_HEADER] ?? '';
              delete headers[EVENT_ID_HEADER];
              headers[REPLAYED_FROM_HEADER] = `${from}/${partition}/${message.offset}`;
              await producer.publish({
                topic: to,
                key: message.key === null ? null : message.key.toString('utf8'),
                value: message.value,
                eventId: deterministicEventId(
                  `replay:${from}:${partition}:${message.offset}:${originalEventId}`,
                ),
                headers,
              });
              replayed += 1;
            }
            await consumer.commitOffsets([{ topic: from, partition, offset: (offset + 1n).toString() }]);
            if (offset + 1n >= end) {
              todo.delete(partition);
              if (todo.size === 0) resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    if (timer) clearTimeout(timer);
    await consumer.disconnect();
    await producer.disconnect();
  }
  logger.info({ replayed }, 'dead-letter records replayed');
  return { replayed, endOffsets };
}
