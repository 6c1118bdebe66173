import { z } from 'zod';
import { DEFAULT_PROCESSED_EVENTS_RETENTION_MS } from '../kafka/processed-events-retention.js';

/** Thrown when the environment does not satisfy a service's config schema; names every bad variable. */
export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly issues: readonly { variable: string; message: string }[],
  ) {
    super(
      `invalid configuration for ${service}: ` +
        issues.map((issue) => `${issue.variable}: ${issue.message}`).join('; '),
    );
    this.name = 'ConfigError';
  }
}

/**
 * Parses environment variables with a zod schema (an object whose keys are the variable names).
 * Returns a frozen, typed object or throws a ConfigError naming each offending variable.
 */
export function parseConfig<Schema extends z.ZodType>(
  service: string,
  schema: Schema,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.output<Schema>> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      service,
      result.error.issues.map((issue) => ({
        variable: issue.path.join('.') || '(root)',
        message: issue.message,
      })),
    );
  }
  return Object.freeze(result.data);
}

/** An integer read from an environment string, e.g. `port: envInt().default(8080)`. */
export const envInt = () => z.coerce.number().int();

/** `true`/`false`/`1`/`0` from an environment string; anything else is an error. */
export const envBool = () =>
  z
    .enum(['true', 'false', '1', '0'], { message: 'expected true, false, 1 or 0' })
    .transform((value) => value === 'true' || value === '1');

/** A comma-separated list, e.g. `KAFKA_BROKERS=a:9092,b:9092`. */
export const envList = () =>
  z
    .string()
    .min(1)
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    );

export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * Variables every service reads. Defaults are the local development setup (MariaDB root with an
 * empty password, Redis and Kafka on localhost): dev defaults only, production manifests set them.
 */
export const commonEnv = {
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: logLevelSchema.default('info'),
  MYSQL_HOST: z.string().min(1).default('127.0.0.1'),
  MYSQL_PORT: envInt().min(1).max(65535).default(3306),
  MYSQL_USER: z.string().min(1).default('root'),
  MYSQL_PASSWORD: z.string().default(''),
  MYSQL_POOL_SIZE: envInt().min(1).max(1000).default(10),
  /**
   * Whether the service creates its schema and applies its migrations at start (default true, as
   * locally). False where a migrations Job or one-shot runs `src/migrate.ts` first (deploy/k8s,
   * docker-compose.yml): the service then waits for the schema to be current instead.
   */
  MIGRATE_ON_START: envBool().default(true),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  KAFKA_BROKERS: envList().default(['127.0.0.1:9092']),
  /** Used when a service creates a missing topic (production: 3 replicas, see deploy/k8s). */
  KAFKA_TOPIC_PARTITIONS: envInt().min(1).max(1000).default(3),
  KAFKA_REPLICATION_FACTOR: envInt().min(1).max(10).default(1),
  FAULTS_ENABLED: envBool().default(false),
  METRICS_PORT: envInt().min(0).max(65535).default(0),
  SHUTDOWN_GRACE_MS: envInt().min(0).max(120_000).default(10_000),
} as const;

/** Variables of a service that consumes Kafka with `runIdempotentConsumer`. */
export const consumerEnv = {
  /**
   * How long `processed_events` rows are kept (default 192 h, 8 days). Keep it comfortably longer
   * than the Kafka retention of the consumed topics (7 days in deploy/k8s), or an event delivered
   * again after its row went would be applied again.
   */
  PROCESSED_EVENTS_RETENTION_HOURS: envInt()
    .min(24)
    .max(24 * 365)
    .default(DEFAULT_PROCESSED_EVENTS_RETENTION_MS / 3_600_000),
} as const;

/** A gRPC listening port variable. */
export const grpcPortEnv = (defaultPort: number) => envInt().min(0).max(65535).default(defaultPort);

/** A `host:port` address of another service. */
export const addressEnv = (defaultAddress: string) =>
  z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')
    .default(defaultAddress);

/**
 * `parseConfig` for a service's composition root: a bad environment stops the process at start
 * with one line naming each offending variable (exit code 78, EX_CONFIG), instead of a stack.
 */
export function parseConfigOrExit<Schema extends z.ZodType>(
  service: string,
  schema: Schema,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.output<Schema>> {
  try {
    return parseConfig(service, schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
}
