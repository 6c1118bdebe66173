// The fraud service as its component tests drive it: the real gRPC server on port 0, wired by
// fraud-server.ts as main.ts wires it, against a fresh MariaDB schema (dropped after) and the
// local Redis under a key prefix of its own (so that "flushing its keys" touches nobody else's),
// called through a real platform gRPC client.
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import {
  DomainError,
  createDependencyPolicy,
  createGrpcClient,
  createLogger,
  createRedis,
  dependencyPresets,
  loadProtos,
  parseConfig,
  presetOptions,
  type Db,
  type DependencyPolicy,
  type GrpcClient,
  type Logger,
  type RedisClient,
} from '@koban/platform';
import { createTestDatabase as createPlatformTestDatabase, type TestDatabase } from '@koban/platform/testing';
import { configSchema, fraudLimits, lockoutPolicy } from '../../src/config.js';
import type { FraudServiceDefinition } from '../../src/fraud-grpc.js';
import { createFraudServer } from '../../src/fraud-server.js';

export const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const kafkaBrokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
/** Nothing listens there: every Redis command fails at once, as during an outage. */
export const unreachableRedisUrl = 'redis://127.0.0.1:1';

const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url));

export type FraudClient = GrpcClient<FraudServiceDefinition>;

export interface LogLine {
  level: string;
  msg: string;
  component?: string;
  [field: string]: unknown;
}

/** A logger keeping every line, for tests that look at what was (not) logged. */
export function capturingLogger(lines: LogLine[]): Logger {
  return createLogger({
    service: 'fraud',
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
}

/** A fresh `koban_test_<random>` schema with the fraud migrations applied, and how to drop it. */
export function createTestDatabase(): Promise<TestDatabase> {
  return createPlatformTestDatabase({ migrationsDir, poolSize: 10 });
}

/** A fresh Redis key prefix: a test's keys never meet another run's. */
export function testKeyPrefix(): string {
  return `fraud-test-${randomBytes(4).toString('hex')}:`;
}

export interface FraudUnderTest {
  client: FraudClient;
  redis: RedisClient;
  /** The server's fraud→redis policy, as main.ts shares it with the features consumer. */
  redisPolicy: DependencyPolicy;
  logs: LogLine[];
  /** Stops the server, the client and its Redis connection (the schema stays). */
  close(): Promise<void>;
}

export interface ServeOptions {
  db: Db;
  keyPrefix: string;
  /** Environment variables of the fraud config (API.md defaults for the rest). */
  env?: Record<string, string>;
  redisUrl?: string;
  now?: () => number;
}

/** Serves a fraud service on the schema and key prefix given. Two on the same ones are two replicas. */
export async function serveFraud(options: ServeOptions): Promise<FraudUnderTest> {
  const logs: LogLine[] = [];
  const logger = capturingLogger(logs);
  const config = parseConfig('fraud', configSchema, options.env ?? {});
  const redis = createRedis({ url: options.redisUrl ?? redisUrl, logger, connectTimeoutMs: 500 });
  await redis.connect().catch(() => undefined);
  const redisPolicy = createDependencyPolicy(presetOptions(dependencyPresets.redis, 'fraud'), { logger });
  const server = createFraudServer({
    db: options.db,
    redis,
    redisPolicy,
    logger,
    limits: fraudLimits(config),
    policy: lockoutPolicy(config),
    redisKeyPrefix: options.keyPrefix,
    ...(options.now ? { now: options.now } : {}),
  });
  const port = await server.listen(0);
  const client = createGrpcClient(loadProtos().koban.fraud.v1.FraudService, `127.0.0.1:${port}`, {
    timeoutMs: 5_000,
  });
  return {
    client,
    redis,
    redisPolicy,
    logs,
    async close() {
      client.close();
      await server.shutdown(1_000);
      redisPolicy.dispose();
      await redis.close();
    },
  };
}

/** Deletes every Redis key under `prefix`: what a FLUSH does to the fraud service's keys. */
export async function flushKeys(redis: RedisClient, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** A fresh id with a readable prefix. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/** A fresh documentation-range IPv4 address (RFC 5737: 198.18.0.0/15 is for benchmarks). */
export function uniqueIp(): string {
  const bytes = randomBytes(2);
  return `198.18.${bytes[0] ?? 0}.${bytes[1] ?? 0}`;
}

/** The DomainError a call rejected with (fails the test when it resolved or failed otherwise). */
export async function domainErrorOf(call: Promise<unknown>): Promise<DomainError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the call to fail with a domain error');
}

/** Polls `check` until it stops throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await delay(50);
    }
  }
}
