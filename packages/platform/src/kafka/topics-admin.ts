import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';

/** How {@link ensureTopics} creates a missing topic. */
export interface EnsureTopicsOptions {
  partitions: number;
  replicationFactor: number;
  /** Topic-level settings for created topics, e.g. `{ 'min.insync.replicas': '2' }`. */
  configEntries?: Readonly<Record<string, string>> | undefined;
  /** Told which topics were created. */
  logger?: Logger | undefined;
}

/**
 * Creates those of `topics` that do not exist yet, with the given partitions and replication,
 * and waits for their leaders; existing topics are left as they are (their partition count is
 * never changed: that would move keys to other partitions). Idempotent and safe to call from
 * every replica at start: a topic another replica created meanwhile counts as existing. Resolves
 * with the names that were missing when it looked (empty when all existed).
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly string[],
  options: EnsureTopicsOptions,
): Promise<string[]> {
  const wanted = [...new Set(topics)];
  if (wanted.length === 0) return [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((topic) => !existing.has(topic));
    if (missing.length === 0) return [];
    const configEntries = Object.entries(options.configEntries ?? {}).map(([name, value]) => ({
      name,
      value,
    }));
    // Resolves false instead of failing when a topic already exists (another replica was quicker).
    await admin.createTopics({
      topics: missing.map((topic) => ({
        topic,
        numPartitions: options.partitions,
        replicationFactor: options.replicationFactor,
        ...(configEntries.length > 0 ? { configEntries } : {}),
      })),
      waitForLeaders: true,
    });
    options.logger?.info(
      { topics: missing, partitions: options.partitions, replicationFactor: options.replicationFactor },
      'created Kafka topics',
    );
    return missing;
  } finally {
    await admin.disconnect();
  }
}
