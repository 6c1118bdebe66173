// `pnpm cashback:replay-dlq`: re-publishes the records of cashback.v1.dlq to cashback.v1 (from
// where this group last stopped up to the topic's current end) and commits its offsets, so the
// retry queue grants them again. Run it once the cause is fixed. See the service README.
import { z } from 'zod';
import {
  createKafka,
  createLogger,
  envInt,
  envList,
  logLevelSchema,
  parseConfigOrExit,
  topics,
} from '@koban/platform';
import { replayDeadLetters } from './dead-letter-replay.js';

const config = parseConfigOrExit(
  'cashback-replay-dlq',
  z.object({
    LOG_LEVEL: logLevelSchema.default('info'),
    KAFKA_BROKERS: envList().default(['127.0.0.1:9092']),
    CASHBACK_DLQ_TOPIC: z.string().min(1).default(topics.cashbackDeadLetter),
    CASHBACK_TOPIC: z.string().min(1).default(topics.cashback),
    DLQ_REPLAY_GROUP_ID: z.string().min(1).default('campaign-promo.dlq-replay'),
    DLQ_REPLAY_TIMEOUT_MS: envInt().min(1_000).max(3_600_000).default(120_000),
  }),
);
const logger = createLogger({ service: 'cashback-replay-dlq', level: config.LOG_LEVEL });

try {
  const result = await replayDeadLetters({
    kafka: createKafka({ clientId: 'cashback-replay-dlq', brokers: config.KAFKA_BROKERS, logger }),
    from: config.CASHBACK_DLQ_TOPIC,
    to: config.CASHBACK_TOPIC,
    groupId: config.DLQ_REPLAY_GROUP_ID,
    logger,
    timeoutMs: config.DLQ_REPLAY_TIMEOUT_MS,
  });
  logger.info(
    result,
    `replayed ${result.replayed} record(s) from ${config.CASHBACK_DLQ_TOPIC} to ${config.CASHBACK_TOPIC}`,
  );
  process.exitCode = 0;
} catch (error) {
  logger.error({ err: error }, 'replay failed; run it again (records already replayed are not repeated)');
  process.exitCode = 1;
}
